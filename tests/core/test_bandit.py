"""Static security check: bandit at medium severity and above (-ll) finds nothing in app/ that is not
justified inline with a ``# nosec <id> - reason`` comment."""
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_bandit_medium_and_high_findings_are_none():
    bandit = shutil.which("bandit") or str(Path(sys.executable).with_name("bandit"))
    result = subprocess.run([bandit, "-q", "-ll", "-r", str(ROOT / "app"), "-f", "txt"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-1000:]
