"""Take a base backup of the PostgreSQL cluster holding DATABASE_URL (`make backup`).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fieldstock .venv/bin/python scripts/backup.py \
        --dir backups --wal-archive /var/lib/postgresql/wal-archive

The server must archive its WAL (postgresql.conf: ``archive_mode = on`` and an
``archive_command`` copying each segment into the WAL archive, e.g.
``test ! -f /var/lib/postgresql/wal-archive/%f && cp %p /var/lib/postgresql/wal-archive/%f``):
the base backup plus the archived WAL restore to any moment since (scripts/restore_drill.py).

It writes ``<dir>/<UTC stamp>/``: ``base.tar.gz`` and ``pg_wal.tar.gz`` (pg_basebackup, tar,
compressed, with the WAL that makes it consistent), ``manifest.json`` (database, time, the
restore point, the WAL archive) and the ledger's chain heads at that restore point: the heads are
read with the head table locked against writers, in the transaction that writes the named
restore point, so a restore to that point must show exactly these heads. Connect as the
database owner (a superuser or a role with REPLICATION and pg_create_restore_point).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import psycopg


def pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if not candidates:
        sys.exit(f"{name} not found: install PostgreSQL's client tools (postgresql-client)")
    return str(candidates[-1])


def connect_args(url: str) -> dict:
    parts = urlsplit(url)
    args = {
        "host": unquote(parts.hostname or ""),
        "port": parts.port or 5432,
        "user": unquote(parts.username or "postgres"),
        "dbname": parts.path.lstrip("/"),
    }
    if parts.password:
        args["password"] = unquote(parts.password)
    return args


def ledger_heads(cursor) -> list[dict]:
    cursor.execute(
        "SELECT organization_id, last_seq, last_hash FROM inventory_ledgerchainhead "
        "ORDER BY organization_id"
    )
    return [{"organization_id": o, "last_seq": s, "last_hash": h} for o, s, h in cursor]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--dir", default="backups", help="where backups go (default backups/)")
    parser.add_argument(
        "--wal-archive",
        required=True,
        help="the folder the server's archive_command copies WAL into",
    )
    options = parser.parse_args()
    if not options.url.startswith("postgres"):
        sys.exit("set DATABASE_URL (or --url) to the database, as its owner")
    started = time.monotonic()
    args = connect_args(options.url)
    with psycopg.connect(**args, autocommit=True) as conn:
        archive_mode = conn.execute("SHOW archive_mode").fetchone()[0]
        if archive_mode == "off":
            sys.exit(
                "The server does not archive its WAL (archive_mode = off): a base backup "
                "alone restores to one moment only. Set archive_mode and archive_command."
            )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = Path(options.dir) / stamp
    target.mkdir(parents=True)
    env = {**os.environ, "PGPASSWORD": args.get("password", "")}
    result = subprocess.run(
        [
            pg_tool("pg_basebackup"),
            "-h",
            args["host"],
            "-p",
            str(args["port"]),
            "-U",
            args["user"],
            "-D",
            str(target),
            "-Ft",
            "-z",
            "-X",
            "fetch",
            "-c",
            "fast",
            "--no-sync",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode:
        sys.exit(f"pg_basebackup failed:\n{result.stderr}")
    restore_point = f"fieldstock-{stamp}"
    with psycopg.connect(**args) as conn, conn.cursor() as cursor:
        # No movement can be written between reading the heads and the restore point.
        cursor.execute("LOCK TABLE inventory_ledgerchainhead IN SHARE MODE")
        heads = ledger_heads(cursor)
        cursor.execute("SELECT pg_create_restore_point(%s)::text, now()", [restore_point])
        lsn, at = cursor.fetchone()
        conn.commit()
    with psycopg.connect(**args, autocommit=True) as conn:
        conn.execute("SELECT pg_switch_wal()")  # the restore point's segment goes to the archive
    manifest = {
        "database": args["dbname"],
        "taken_at": at.isoformat(),
        "restore_point": restore_point,
        "restore_point_lsn": lsn,
        "wal_archive": str(Path(options.wal_archive).resolve()),
        "ledger_heads": heads,
        "seconds": round(time.monotonic() - started, 2),
    }
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(
        f"backup: {target} ({manifest['seconds']} s; restore point {restore_point} at {lsn}; "
        f"{len(heads)} ledger chain heads recorded)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
