"""Real PostgreSQL clusters and pgbouncer started by a test: a primary, a streaming replica
(pg_basebackup -R), a pooler in transaction mode. Debian's binaries (postgresql-15, pgbouncer;
scripts/system-deps installs them); run as the `postgres` system user when the tests run as root
(neither server runs as root). Each listens on 127.0.0.1 on a free port of 55400-55499 and keeps
its files in a temporary folder, removed with it."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

PORTS = range(55400, 55500)


def pg_bin() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_basebackup"))
    if not candidates:
        pytest.fail(
            "PostgreSQL server binaries are missing: scripts/system-deps installs postgresql-15"
        )
    return candidates[-1].parent


def pgbouncer_bin() -> str:
    found = shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
    )
    if not found:
        pytest.fail("pgbouncer is missing: scripts/system-deps installs it")
    return found


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port in 55400-55499")


def as_server_user(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def server_owned_dir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(path, user.pw_uid, user.pw_gid)
    path.chmod(0o700)
    return path


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(
        as_server_user(args), capture_output=True, text=True, timeout=300, **kwargs
    )
    assert result.returncode == 0, (args, result.stdout[-3000:], result.stderr[-3000:])
    return result


class Cluster:
    """One PostgreSQL server (primary or standby)."""

    def __init__(self, root: Path, port: int):
        self.root = root
        self.data = root / "data"
        self.port = port
        self.log = root / "server.log"

    @classmethod
    def primary(cls, **settings) -> Cluster:
        cluster = cls(server_owned_dir("fs-primary-"), free_port())
        run(
            [
                str(pg_bin() / "initdb"),
                "-D",
                str(cluster.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ]
        )
        cluster.configure(
            wal_level="replica",
            max_wal_senders=5,
            hot_standby="on",
            fsync="off",
            synchronous_commit="off",
            full_page_writes="off",
            **settings,
        )
        cluster.start()
        return cluster

    def standby(self) -> Cluster:
        """A streaming replica of this cluster, started (pg_basebackup -R)."""
        replica = Cluster(server_owned_dir("fs-replica-"), free_port())
        run(
            [
                str(pg_bin() / "pg_basebackup"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-D",
                str(replica.data),
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
            ]
        )
        replica.configure()
        replica.start()
        return replica

    def configure(self, **settings) -> None:
        lines = [
            f"port = {self.port}",
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{self.root}'",
            "max_connections = 100",
        ]
        lines += [f"{key} = '{value}'" for key, value in settings.items()]
        run(["bash", "-c", f"cat >> {self.data}/postgresql.conf"], input="\n".join(lines) + "\n")

    def start(self) -> None:
        run(
            [
                str(pg_bin() / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-w",
                "-t",
                "120",
                "start",
            ]
        )

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(
            as_server_user(
                [
                    str(pg_bin() / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-m",
                    mode,
                    "-w",
                    "-t",
                    "60",
                    "stop",
                ]
            ),
            capture_output=True,
            timeout=120,
        )

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def url(self, dbname: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=dbname, autocommit=True
        )

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def copy_database(source_url: str, target: Cluster, dbname: str) -> None:
    """The test database (schema and the rows a test made) copied into ``target``'s ``dbname``."""
    with target.connect() as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    dump = subprocess.run(
        [str(pg_bin() / "pg_dump"), "--no-owner", "--no-privileges", "-d", source_url],
        capture_output=True,
        timeout=300,
    )
    assert dump.returncode == 0, dump.stderr[-3000:]
    restore = subprocess.run(
        [str(pg_bin() / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-d", target.url(dbname)],
        input=dump.stdout,
        capture_output=True,
        timeout=300,
    )
    assert restore.returncode == 0, restore.stderr[-3000:]


def wait_for(predicate, timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except psycopg.Error:
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Pgbouncer:
    """pgbouncer in transaction mode in front of one database."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        dbname: str,
        user: str,
        password: str = "",
        name: str = "fieldstock",
        pool_size: int = 10,
        min_pool_size: int = 0,
        round_robin: bool = False,
    ):
        self.root = server_owned_dir("fs-pgbouncer-")
        self.port = free_port()
        self.name = name
        self.user = user
        connection = f"host={host} port={port} dbname={dbname} user={user}"
        if password:
            connection += f" password={password}"
        (self.root / "pgbouncer.ini").write_text(
            f"[databases]\n{name} = {connection} connect_query='SET work_mem = ''16MB'''\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\n"
            f"unix_socket_dir = {self.root}\n"
            "auth_type = any\npool_mode = transaction\n"
            f"default_pool_size = {pool_size}\nmin_pool_size = {min_pool_size}\n"
            f"server_round_robin = {int(round_robin)}\nmax_client_conn = 200\n"
            "ignore_startup_parameters = extra_float_digits\n"
            f"logfile = {self.root}/pgbouncer.log\npidfile = {self.root}/pgbouncer.pid\n"
        )
        if os.geteuid() == 0:
            user_ids = pwd.getpwnam("postgres")
            os.chown(self.root / "pgbouncer.ini", user_ids.pw_uid, user_ids.pw_gid)
        self.process = subprocess.Popen(
            as_server_user([pgbouncer_bin(), str(self.root / "pgbouncer.ini")]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self._answers, what="pgbouncer")

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError((self.root / "pgbouncer.log").read_text()[-3000:])
        with psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=self.user,
            dbname=self.name,
            prepare_threshold=None,
        ) as conn:
            return conn.execute("SELECT 1").fetchone() == (1,)

    def url(self) -> str:
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{self.name}"

    def log(self) -> str:
        return (self.root / "pgbouncer.log").read_text()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)
