"""The development app (benchmarks, seed_scale) is not part of the product: production settings
(DEBUG off) do not install it, so its commands are unknown there; DEBUG or DEV_TOOLS=1 installs
it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
DEV_COMMANDS = ("bench_pages", "bench_pdf", "seed_scale")


def _commands(**values) -> subprocess.CompletedProcess:
    """``manage.py help --commands`` under the real settings (``config.settings``), in a clean
    environment plus ``values``."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "DATABASE_URL")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(DJANGO_SETTINGS_MODULE="config.settings",
               SECRET_KEY="a-production-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
               ALLOWED_HOSTS="fieldstock.example.com", **values)
    return subprocess.run([sys.executable, "manage.py", "help", "--commands"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)


def test_production_settings_do_not_install_the_dev_app():
    result = _commands(DEBUG="0")
    assert result.returncode == 0, result.stderr
    commands = result.stdout.split()
    assert "seed_demo" in commands and "send_stock_alerts" in commands  # the product's own
    for name in DEV_COMMANDS:
        assert name not in commands, name
    unknown = subprocess.run(
        [sys.executable, "manage.py", "seed_scale", "--devices", "1000"], cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "DATABASE_URL")},
             "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "0",
             "SECRET_KEY": "a-production-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"},
        capture_output=True, text=True, timeout=300,
    )
    assert unknown.returncode != 0
    assert "Unknown command: 'seed_scale'" in unknown.stderr


@pytest.mark.parametrize("values", [{"DEBUG": "1"}, {"DEBUG": "0", "DEV_TOOLS": "1"}])
def test_debug_or_dev_tools_installs_it(values):
    result = _commands(**values)
    assert result.returncode == 0, result.stderr
    commands = result.stdout.split()
    for name in DEV_COMMANDS:
        assert name in commands, name
