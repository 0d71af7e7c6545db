"""``flask org``: import the organisation (departments) and its staff from CSV files.

Register with ``app.org.cli.init_app(app)`` (idempotent). Both imports are all-or-nothing: any
error prints every ``FILE:LINE: field 'x': message`` line and changes nothing (exit status 1).
"""
from __future__ import annotations

from pathlib import Path

import click
from flask import Flask

from app.content.report import ContentError
from app.core.cli import fail, refresh_statistics
from app.extensions import db




PREVIEW_LINES = 20  # changes listed by a dry run without --verbose


def _finish(summary, dry_run: bool, verbose: bool) -> None:
    """Print the summary; commit, or roll back for a dry run (which previews the first changes)."""
    if verbose:
        for line in summary.changes:
            click.echo(line)
    elif dry_run and summary.changes:
        for line in summary.changes[:PREVIEW_LINES]:
            click.echo(line)
        if len(summary.changes) > PREVIEW_LINES:
            click.echo(f"... and {len(summary.changes) - PREVIEW_LINES} more change(s) (--verbose lists all)")
    for line in summary.lines():
        click.echo(line)
    if dry_run:
        db.session.rollback()
        click.echo("dry run: nothing was written.")
    else:
        from app.audit.services import record

        record(None, f"{summary.kind}.import", f"file:{summary.path}",
               {"rows": summary.rows, "created": summary.created, "updated": summary.updated,
                "deactivated": summary.deactivated + summary.deactivated_missing,
                "transferred": summary.transferred, "codes_issued": len(getattr(summary, "sign_in_codes", []) or [])})
        db.session.commit()
        if summary.changed:
            refresh_statistics("department", "department_closure", "user", "officer_scope")
        click.echo("import done." if summary.changed else "import done: no changes.")


def init_app(app: Flask) -> None:
    """Register the ``org`` CLI group on ``app`` (does nothing if it is already registered)."""
    if "org" in app.cli.commands:
        return

    file_argument = click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    dry_run_option = click.option("--dry-run", is_flag=True, help="Check and count only; write nothing.")
    verbose_option = click.option("-v", "--verbose", is_flag=True, help="List every created or updated row.")

    @app.cli.group("org")
    def org():
        """Organisation and staff imports (CSV, UTF-8 or GB18030)."""

    @org.command("import-departments")
    @file_argument
    @dry_run_option
    @verbose_option
    def import_departments_command(file: Path, dry_run: bool, verbose: bool):
        """Create or update departments from FILE (columns: docs/content-format.md)."""
        from app.org.imports import import_departments

        try:
            summary = import_departments(file)
        except ContentError as exc:
            fail(exc.errors)
        _finish(summary, dry_run, verbose)

    @org.command("import-staff")
    @staff_import_options
    def import_staff_command(**options):
        """Create or update staff from FILE, CSV or XLSX (columns: docs/content-format.md).
        The same as `flask users import`."""
        run_staff_import(**options)


def staff_import_options(function):
    """The arguments and options of ``flask users import`` / ``flask org import-staff``."""
    decorators = [
        click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
        click.option("--default-password", metavar="TEXT", default=None, envvar="ORG_DEFAULT_PASSWORD",
                     help="Discouraged (one password shared by many people): a password for new staff whose row "
                          "has none. Without it each of them gets a personal single-use sign-in code."),
        click.option("--codes-csv", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Write new staff's sign-in codes to this CSV (UTF-8 with BOM, for Excel/WPS) to print "
                          "slips; without it the codes are printed."),
        click.option("--deactivate-missing", is_flag=True,
                     help="Deactivate active staff whose staff number is not in FILE (administrators excepted)."),
        click.option("--dry-run", is_flag=True, help="Check, count and preview the first changes; write nothing."),
        click.option("-v", "--verbose", is_flag=True, help="List every created or updated row."),
    ]
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


def run_staff_import(file: Path, default_password: str | None = None, codes_csv: Path | None = None,
                     deactivate_missing: bool = False, dry_run: bool = False, verbose: bool = False) -> None:
    """Run a staff import from the command line: print errors and exit 1, or print the summary
    (and a preview for a dry run), commit unless ``dry_run``, and hand out new staff's sign-in codes."""
    from app.org.imports import import_staff

    try:
        summary = import_staff(file, default_password=default_password, deactivate_missing=deactivate_missing)
    except ContentError as exc:
        db.session.rollback()
        fail(exc.errors)
    _finish(summary, dry_run, verbose)
    if summary.sign_in_codes and not dry_run:
        _hand_out_codes(summary, codes_csv)


def _hand_out_codes(summary, codes_csv: Path | None) -> None:
    """Write (or print) the committed sign-in codes of a staff import: staff number, name, code, expiry
    in the display time zone."""
    import csv

    from app.core.time import to_local

    expires = to_local(summary.codes_expire_at).strftime("%Y-%m-%d %H:%M")
    if codes_csv is None:
        for staff_number, name, code in summary.sign_in_codes:
            click.echo(f"{staff_number}\t{name}\t{code}\t{expires}")
        return
    with codes_csv.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["staff_number", "name", "sign_in_code", "expires_at"])
        for staff_number, name, code in summary.sign_in_codes:
            writer.writerow([staff_number, name, code, expires])
    click.echo(f"{len(summary.sign_in_codes)} sign-in code(s) written to {codes_csv}; keep the file safe and "
               "delete it once the slips are handed out.")
