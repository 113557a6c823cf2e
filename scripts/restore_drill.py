"""Restore a backup of scripts/backup.py into a fresh cluster and prove it (`make restore-drill`).

    .venv/bin/python scripts/restore_drill.py backups/20261207T131500Z    # its restore point
    .venv/bin/python scripts/restore_drill.py backups/… --target-time "2026-12-07 13:20:00+00"
    .venv/bin/python scripts/restore_drill.py backups/… --latest          # all archived WAL

It unpacks the base backup into a new data folder, replays the archived WAL up to the target,
starts the restored server on 127.0.0.1:--port (default: a free one), then runs
``manage.py verify_ledger`` against it (the same SECRET_KEY / LEDGER_KEY as production must be in
the environment) and compares the ledger chain heads with those recorded at backup time: equal at
the backup's restore point; at a later target every organisation's chain is at least as long.
Prints the recovery time (RTO: unpack, replay, start, verify) and exits 1 on any mismatch. The
restored cluster is stopped and removed unless --keep. As root the server runs as the `postgres`
system user (PostgreSQL refuses root).
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent


def server_bin(name: str) -> str:
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if candidates:
        return str(candidates[-1])
    found = shutil.which(name)
    if not found:
        sys.exit(f"{name} not found: install the PostgreSQL server (postgresql-15)")
    return found


def as_server_user(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unpack(backup: Path, data: Path) -> None:
    with tarfile.open(backup / "base.tar.gz") as tar:
        tar.extractall(data, filter="fully_trusted")
    if (backup / "pg_wal.tar.gz").exists():
        with tarfile.open(backup / "pg_wal.tar.gz") as tar:
            tar.extractall(data / "pg_wal", filter="fully_trusted")


def configure(data: Path, *, port: int, socket_dir: Path, archive: str, target: dict) -> None:
    lines = [
        f"port = {port}",
        "listen_addresses = '127.0.0.1'",
        f"unix_socket_directories = '{socket_dir}'",
        "archive_mode = off",
        f"restore_command = 'cp {archive}/%f %p'",
        "recovery_target_action = 'promote'",
        "primary_conninfo = ''",
        "hot_standby = on",
    ]
    lines += [f"{key} = '{value}'" for key, value in target.items()]
    with (data / "postgresql.auto.conf").open("a") as conf:
        conf.write("\n".join(lines) + "\n")
    (data / "recovery.signal").touch()
    (data / "standby.signal").unlink(missing_ok=True)


def chown_tree(path: Path) -> None:
    if os.geteuid() != 0:
        return
    user = pwd.getpwnam("postgres")
    for folder, _dirs, files in os.walk(path):
        os.chown(folder, user.pw_uid, user.pw_gid)
        for name in files:
            os.chown(os.path.join(folder, name), user.pw_uid, user.pw_gid)


def wait_promoted(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(
                host="127.0.0.1", port=port, user="postgres", dbname="postgres", connect_timeout=5
            ) as conn:
                if not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                    return
        except psycopg.OperationalError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the restored server did not finish recovery within {timeout} s")


def compare_heads(recorded: list[dict], restored: list[dict], *, exact: bool) -> list[str]:
    problems = []
    now = {h["organization_id"]: h for h in restored}
    for head in recorded:
        found = now.get(head["organization_id"])
        if found is None:
            problems.append(f"organisation {head['organization_id']}: no chain head restored")
        elif exact and (found["last_seq"], found["last_hash"]) != (
            head["last_seq"],
            head["last_hash"],
        ):
            problems.append(
                f"organisation {head['organization_id']}: head {found['last_seq']} "
                f"differs from the recorded {head['last_seq']}"
            )
        elif found["last_seq"] < head["last_seq"] or (
            found["last_seq"] == head["last_seq"] and found["last_hash"] != head["last_hash"]
        ):
            problems.append(
                f"organisation {head['organization_id']}: head {found['last_seq']} "
                f"is behind or differs from the recorded {head['last_seq']}"
            )
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("backup", type=Path)
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--target-time", help="replay up to this time (PostgreSQL timestamptz)")
    target.add_argument("--latest", action="store_true", help="replay all the archived WAL")
    parser.add_argument("--wal-archive", help="default: the one recorded in the manifest")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="leave the restored server running")
    parser.add_argument("--timeout", type=float, default=600)
    options = parser.parse_args()
    manifest = json.loads((options.backup / "manifest.json").read_text())
    archive = options.wal_archive or manifest["wal_archive"]
    if options.target_time:
        recovery = {"recovery_target_time": options.target_time}
    elif options.latest:
        recovery = {}
    else:
        recovery = {"recovery_target_name": manifest["restore_point"]}
    started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="fieldstock-restore-", dir="/tmp"))
    data, port = root / "data", options.port or free_port()
    data.mkdir(mode=0o700)
    unpack(options.backup, data)
    configure(data, port=port, socket_dir=root, archive=archive, target=recovery)
    chown_tree(root)
    root.chmod(0o700)
    log = root / "server.log"
    start = subprocess.run(
        as_server_user(
            [
                server_bin("pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(log),
                "-w",
                "-t",
                str(int(options.timeout)),
                "start",
            ]
        ),
        capture_output=True,
        text=True,
    )
    ok = False
    try:
        if start.returncode:
            print(log.read_text()[-3000:] if log.exists() else start.stderr, file=sys.stderr)
            return 1
        wait_promoted(port, options.timeout)
        replayed = round(time.monotonic() - started, 2)
        url = f"postgres://postgres@127.0.0.1:{port}/{manifest['database']}"
        env = {**os.environ, "DATABASE_URL": url, "DATABASE_REPLICA_URL": "", "DATABASE_POOLER": ""}
        env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        verify = subprocess.run(
            [sys.executable, "manage.py", "verify_ledger"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        print(verify.stdout.strip())
        with psycopg.connect(url) as conn, conn.cursor() as cursor:
            cursor.execute(
                "SELECT organization_id, last_seq, last_hash "
                "FROM inventory_ledgerchainhead ORDER BY organization_id"
            )
            restored = [{"organization_id": o, "last_seq": s, "last_hash": h} for o, s, h in cursor]
        problems = compare_heads(
            manifest["ledger_heads"], restored, exact="recovery_target_name" in recovery
        )
        for problem in problems:
            print(f"ledger: {problem}", file=sys.stderr)
        total = round(time.monotonic() - started, 2)
        target_text = (
            recovery.get("recovery_target_name")
            or recovery.get("recovery_target_time")
            or "the latest archived WAL"
        )
        print(
            f"restore drill: {target_text}; recovered and promoted in {replayed} s, verified in "
            f"{total} s (RTO); ledger {'verified' if verify.returncode == 0 else 'FAILED'}, "
            f"{len(restored)} chain heads {'match' if not problems else 'DIFFER'}; "
            f"server on 127.0.0.1:{port}"
        )
        ok = verify.returncode == 0 and not problems
        if verify.returncode:
            print(verify.stderr.strip(), file=sys.stderr)
        return 0 if ok else 1
    finally:
        if not options.keep:
            subprocess.run(
                as_server_user([server_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                capture_output=True,
            )
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"restored cluster kept in {root} (pg_ctl -D {data} stop)")


if __name__ == "__main__":
    sys.exit(main())
