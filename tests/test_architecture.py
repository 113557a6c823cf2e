"""The apps' arrows run one way (docs/architecture.md): import-linter's layers contract in
pyproject.toml fails on any upward import or cycle between apps, even inside a function."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_imports_run_one_way():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_a_lower_app_importing_a_higher_one_is_refused(tmp_path):
    """The check itself works: an events module importing billing breaks the contract."""
    probe = ROOT / "events" / "_probe_upward_import.py"
    probe.write_text("from billing import services  # noqa: F401\n")
    try:
        lint = Path(sys.executable).with_name("lint-imports")
        result = subprocess.run(
            [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
        )
    finally:
        probe.unlink()
    assert result.returncode != 0
    assert "events is not allowed to import billing" in result.stdout
