"""Backups that restore: scripts/backup.py takes a base backup of a real cluster that archives
its WAL; scripts/restore_drill.py restores it into a fresh cluster, to the backup's restore point
and to a later moment, runs verify_ledger and compares the ledger chain heads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from inventory.models import DeviceMovement
from tests.events.conftest import build_world
from tests.prod.clusters import Cluster, copy_database, server_owned_dir
from tests.prod.conftest import ROOT, database_url

pytestmark = pytest.mark.prod


def drill_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="0",
        SECRET_KEY=settings.SECRET_KEY,
        LEDGER_KEY=settings.LEDGER_KEY,
        ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL="WARNING",
    )
    return env


def script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=drill_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_a_backup_restores_to_its_restore_point_and_to_a_later_time(transactional_db, tmp_path):
    archive = server_owned_dir("fs-wal-archive-")
    primary = Cluster.primary(
        archive_mode="on", archive_command=f"test ! -f {archive}/%f && cp %p {archive}/%f"
    )
    try:
        world = build_world()
        world.stocking_order(world.devices(3))  # ledger movements: a chain head to compare
        dbname = f"fs_{uuid.uuid4().hex[:10]}"
        copy_database(database_url(), primary, dbname)
        backups = tmp_path / "backups"
        taken = script(
            "scripts/backup.py",
            "--url",
            primary.url(dbname),
            "--dir",
            str(backups),
            "--wal-archive",
            str(archive),
        )
        assert taken.returncode == 0, taken.stdout + taken.stderr
        [backup] = list(backups.iterdir())
        manifest = json.loads((backup / "manifest.json").read_text())
        # The chain head of the organisation: one movement per received and per sold device.
        assert [(h["organization_id"], h["last_seq"]) for h in manifest["ledger_heads"]] == [
            (world.org.pk, DeviceMovement.objects.filter(organization=world.org).count())
        ]

        # After the backup: a facility renamed, then a moment to restore to, then another change.
        with primary.connect(dbname) as conn:
            conn.execute(
                "UPDATE consignment_facility SET name = 'Renamed after the backup' WHERE id = %s",
                [world.st_marys.pk],
            )
            time.sleep(1.1)
            moment = conn.execute("SELECT now()::text").fetchone()[0]
            time.sleep(1.1)
            conn.execute(
                "UPDATE consignment_facility SET name = 'Renamed later' WHERE id = %s",
                [world.st_marys.pk],
            )
            conn.execute("SELECT pg_switch_wal()")

        # To the restore point: the recorded heads exactly, the facility as it was.
        at_backup = script("scripts/restore_drill.py", str(backup), "--keep")
        assert at_backup.returncode == 0, at_backup.stdout + at_backup.stderr
        assert "Ledger verified" in at_backup.stdout and "chain heads match" in at_backup.stdout
        kept = at_backup.stdout.split("restored cluster kept in ")[1].split()[0]
        port = int(at_backup.stdout.split("server on 127.0.0.1:")[1].split()[0])
        restored = Cluster(Path(kept), port)
        try:
            with restored.connect(dbname) as conn:
                name = conn.execute(
                    "SELECT name FROM consignment_facility WHERE id = %s", [world.st_marys.pk]
                ).fetchone()[0]
            assert name == world.st_marys.name
        finally:
            restored.remove()

        # Point in time: between the two renames.
        pitr = script("scripts/restore_drill.py", str(backup), "--target-time", moment, "--keep")
        assert pitr.returncode == 0, pitr.stdout + pitr.stderr
        kept = pitr.stdout.split("restored cluster kept in ")[1].split()[0]
        port = int(pitr.stdout.split("server on 127.0.0.1:")[1].split()[0])
        restored = Cluster(Path(kept), port)
        try:
            with restored.connect(dbname) as conn:
                name = conn.execute(
                    "SELECT name FROM consignment_facility WHERE id = %s", [world.st_marys.pk]
                ).fetchone()[0]
            assert name == "Renamed after the backup"
        finally:
            restored.remove()
    finally:
        primary.remove()
        subprocess.run(["rm", "-rf", str(archive)], check=False)
