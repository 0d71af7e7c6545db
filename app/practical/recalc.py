"""Optional LibreOffice recalculation of a spreadsheet that has formulas without cached results.

Off unless the environment variable ``PRACTICAL_LIBREOFFICE_RECALC=1`` is set and ``soffice`` is on
the PATH. Excel and WPS always store results, so this only matters for files written by other
programs. The file is converted in a private temporary folder (``soffice --headless --convert-to
xlsx``, which recalculates on load) with a 60-second limit; the copy is read with openpyxl
``data_only=True`` and deleted. Returns None when disabled or when anything fails.
"""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path


def enabled() -> bool:
    """True when recalculation is switched on and LibreOffice is installed."""
    return os.environ.get("PRACTICAL_LIBREOFFICE_RECALC") == "1" and shutil.which("soffice") is not None


def recalculated_workbook(data: bytes):
    """openpyxl workbook (values only) of ``data`` recalculated by LibreOffice, or None."""
    if not enabled():
        return None
    import openpyxl

    with tempfile.TemporaryDirectory(prefix="practical-recalc-") as tmp:
        src = Path(tmp) / "in" / "upload.xlsx"
        src.parent.mkdir()
        src.write_bytes(data)
        out = Path(tmp) / "out"
        try:
            subprocess.run([shutil.which("soffice") or "soffice", "--headless", "--norestore", f"-env:UserInstallation=file://{tmp}/profile",
                            "--convert-to", "xlsx", "--outdir", str(out), str(src)],
                           capture_output=True, timeout=60, check=True)
            return openpyxl.load_workbook(io.BytesIO((out / "upload.xlsx").read_bytes()), data_only=True)
        except (OSError, subprocess.SubprocessError):
            return None
