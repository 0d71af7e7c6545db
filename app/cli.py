"""Command-line groups: ``content``, ``questions``, ``scheduler``, ``users``, ``demo``; ``org`` and ``rollout``
live in their packages and are registered from here."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app

from app.content.report import ContentError, SyncReport
from app.core.cli import fail, refresh_statistics
from app.extensions import db


def init_app(app: Flask) -> None:
    """Register the CLI groups on ``app``."""
    from app.org.cli import init_app as init_org_cli
    from app.rollout.cli import init_app as init_rollout_cli

    init_org_cli(app)
    init_rollout_cli(app)

    @app.cli.group("content")
    def content():
        """Course and question content kept as files."""

    @content.command("sync")
    @click.option("--check", is_flag=True,
                  help="Validate everything and run the content lint; write nothing; exit 1 on any failure.")
    def content_sync(check):
        """Load courses/ and question_bank/ into the database (idempotent, all-or-nothing)."""
        from app.content.lint import lint_content
        from app.content.services import sync_content

        courses_dir, bank_dir = Path(current_app.config["COURSES_DIR"]), Path(current_app.config["QUESTION_BANK_DIR"])
        try:
            report = sync_content(courses_dir, bank_dir)
        except ContentError as exc:
            fail(exc.errors)
        if check:
            db.session.rollback()
            for line in report.warnings:
                click.echo(f"warning: {line}")
            try:
                lint = lint_content(courses_dir, bank_dir)
            except ContentError as exc:
                fail(exc.errors)
            for line in lint.lines():
                click.echo(line)
            if not lint.passed:
                click.echo(f"content check: {len(lint.failures)} lint failure(s); nothing was written.", err=True)
                sys.exit(1)
            click.echo("content check: passed; nothing was written.")
            return
        db.session.commit()
        for line in report.warnings:
            click.echo(f"warning: {line}")
        for line in report.summary_lines():
            click.echo(line)
        click.echo("content sync: changes applied." if report.changed else "content sync: no changes.")

    @content.command("stats")
    def content_stats_command():
        """Per standard item: lessons teaching it, questions by type and by difficulty (read from the files)."""
        from app.content.lint import DIFFICULTIES, MIN_ITEM_QUESTIONS, TYPE_LABELS, content_stats

        try:
            rows = content_stats(Path(current_app.config["COURSES_DIR"]), Path(current_app.config["QUESTION_BANK_DIR"]))
        except ContentError as exc:
            fail(exc.errors)
        for row in rows:
            types = ", ".join(f"{label} {row['types'].get(name, 0)}" for name, label in TYPE_LABELS.items())
            levels = ", ".join(f"{d} {row['difficulties'].get(d, 0)}" for d in DIFFICULTIES)
            mark = "" if row["questions"] >= MIN_ITEM_QUESTIONS else f"  (< {MIN_ITEM_QUESTIONS})"
            click.echo(f"{row['item']:<4} lessons {row['lessons']}  questions {row['questions']}  "
                       f"[{types}]  [{levels}]{mark}")
        total = sum(row["questions"] for row in rows)
        click.echo(f"{len(rows)} item(s), {total} question(s)")

    @app.cli.group("questions")
    def questions():
        """Question bank import and export (GIFT, Aiken, Moodle XML)."""

    @questions.command("import")
    @click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--format", "fmt", type=click.Choice(["gift", "aiken", "xml"]), default="gift", show_default=True)
    @click.option("--dry-run", is_flag=True, help="Check and count only; write nothing.")
    @click.option("--skip-invalid", is_flag=True,
                  help="Import the valid questions and report each invalid one instead of failing.")
    @click.option("--skip-unsupported", "skip_unsupported", is_flag=True, hidden=True)
    def questions_import(paths, fmt, dry_run, skip_invalid, skip_unsupported):
        """Import question files (all files in one transaction: any error changes nothing)."""
        from app.questions.services import import_file, item_codes, limit

        skip_invalid = skip_invalid or skip_unsupported
        errors, skipped, total = [], [], 0
        report = SyncReport()
        items = item_codes()
        max_bytes = limit("QUESTION_IMPORT_MAX_BYTES")
        try:
            for path in paths:
                size = path.stat().st_size
                if size > max_bytes:
                    errors.append(f"{path}:0: the file is {size:,} bytes, more than the limit of {max_bytes:,} "
                                  f"(QUESTION_IMPORT_MAX_BYTES); split it into smaller files")
                    continue
                with path.open("rb") as fh:  # Moodle XML is read in chunks; GIFT and Aiken whole
                    result = import_file(fmt, fh, str(path), report, skip_invalid=skip_invalid, items=items)
                errors.extend(result.errors)
                skipped.extend(result.skipped)
                total += result.read
        except Exception as exc:  # a database or unexpected failure: report it, never a traceback
            db.session.rollback()
            current_app.logger.exception("question import failed")
            fail([f"import failed: {type(exc).__name__}: {exc}"])
        for line in skipped:
            click.echo(f"skipped: {line}")
        if errors:
            fail(errors)
        counts = report.counts
        summary = (f"{total} question(s) read: {counts[('question', 'created')]} new, "
                   f"{counts[('question', 'updated')]} changed (new version), "
                   f"{counts[('question', 'unchanged')]} unchanged, {len(skipped)} skipped")
        if dry_run:
            db.session.rollback()
            click.echo(f"dry run: {summary}; nothing was written.")
        else:
            from app.audit.services import record

            record(None, "bank.import", "file:" + ",".join(str(p) for p in paths)[:190],
                   {"format": fmt, "read": total, "created": counts[("question", "created")],
                    "updated": counts[("question", "updated")], "skipped": len(skipped), "via": "cli"})
            db.session.commit()
            if counts[("question", "created")] + counts[("question", "updated")] >= 1000:
                refresh_statistics("question", "question_version")
            click.echo(f"imported: {summary}.")

    @questions.command("export")
    @click.argument("out", type=click.Path(dir_okay=False, writable=True, path_type=Path))
    @click.option("--format", "fmt", type=click.Choice(["gift", "aiken", "xml"]), default="gift", show_default=True)
    @click.option("--item", "item_code", help="Only the questions of this standard item (e.g. C3).")
    @click.option("--category", help="Only this category and its subcategories.")
    @click.option("--skip-invalid", is_flag=True,
                  help="Leave out questions the format cannot hold (each is reported) instead of failing.")
    def questions_export(out, fmt, item_code, category, skip_invalid):
        """Export the active questions (current versions) to OUT; nothing is written if any question fails."""
        import os

        from app.questions.services import export_questions

        partial = out.with_name(out.name + ".partial")
        try:
            with partial.open("w", encoding="utf-8", newline="\n") as fh:
                written, problems = export_questions(fmt, fh, item_code=item_code, category=category)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            fail([f"{out}: cannot write: {exc.strerror or exc}"])
        except Exception as exc:  # never a traceback: say what failed, leave no partial file
            partial.unlink(missing_ok=True)
            current_app.logger.exception("question export failed")
            fail([f"{out}: export failed: {type(exc).__name__}: {exc}"])
        if problems and not skip_invalid:
            partial.unlink(missing_ok=True)
            fail([f"{out}: {p}" for p in problems] + [f"{out}: use --skip-invalid to leave these out"])
        os.replace(partial, out)
        for line in problems:
            click.echo(f"skipped: {line}")
        click.echo(f"exported {written} question(s) to {out} ({fmt}); {len(problems)} skipped.")

    @app.cli.group("scheduler")
    def scheduler():
        """The one scheduler process."""

    @scheduler.command("run")
    def scheduler_run():
        """Run the job scheduler in the foreground (exactly one such process per site)."""
        from app.scheduler.runner import run_blocking

        run_blocking(current_app._get_current_object())

    @app.cli.group("users")
    def users():
        """User administration."""

    @users.command("create-admin")
    @click.argument("staff_number")
    @click.argument("name")
    @click.password_option()
    def users_create_admin(staff_number, name, password):
        """Create (or promote) an administrator account."""
        from sqlalchemy import select

        from app.auth.models import User
        from app.auth.services import set_password

        user = db.session.execute(select(User).where(User.staff_number == staff_number)).scalar_one_or_none()
        if user is None:
            user = User(staff_number=staff_number, name=name)
            db.session.add(user)
        user.is_admin = True
        try:
            set_password(user, password)
        except ValueError as exc:
            fail([str(exc)])
        db.session.commit()
        click.echo(f"administrator {staff_number} ready.")

    @users.command("reset-password")
    @click.argument("staff_number")
    def users_reset_password(staff_number):
        """Give a staff member a personal sign-in code (printed) instead of their forgotten password.

        Their old password stops working and their sessions end; with the code (single use, valid
        SIGN_IN_CODE_HOURS hours) they sign in at /login/code and choose their own password.
        """
        from sqlalchemy import select

        from app.auth.models import User
        from app.auth.services import reset_with_sign_in_code

        user = db.session.execute(select(User).where(User.staff_number == staff_number)).scalar_one_or_none()
        if user is None:
            fail([f"no user with staff number {staff_number!r}"])
        from app.auth.services import SignInCodesNotUsed

        try:
            code = reset_with_sign_in_code(user)
        except SignInCodesNotUsed as refused:
            fail([refused.message])
        from app.audit.services import record

        record(None, "auth.code_issued", f"user:{user.id}", {"staff_number": user.staff_number, "reset": True,
                                                              "via": "cli"})
        db.session.commit()
        hours = current_app.config.get("SIGN_IN_CODE_HOURS", 168)
        click.echo(f"sign-in code for {staff_number} ({user.name}): {code}")
        click.echo(f"valid once, for {hours:g} hours; they sign in at /login/code and choose a password. "
                   "Their old password and open sessions no longer work.")

    from app.org.cli import run_staff_import, staff_import_options

    @users.command("import")
    @staff_import_options
    def users_import(**options):
        """Create, update, transfer (and with --deactivate-missing deactivate) staff from an HR file,
        CSV (UTF-8, UTF-8 with BOM, GB18030) or XLSX. All or nothing; columns: docs/content-format.md."""
        run_staff_import(**options)

    @app.cli.command("serve-demo")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=5000, show_default=True)
    def serve_demo(host, port):
        """Serve the demo on one process (threaded), with the scheduler in a thread if SCHEDULER_IN_PROCESS."""
        from app.demo.services import demo_logins

        application = current_app._get_current_object()
        if application.config.get("SCHEDULER_IN_PROCESS"):
            from app.scheduler.runner import start_background

            start_background(application)
        for line in demo_logins():
            click.echo(line)
        click.echo(f"CivicSkills demo: http://{host}:{port}/")
        from werkzeug.serving import run_simple

        run_simple(host, port, application, threaded=True, use_reloader=False, use_debugger=False)

    @app.cli.command("demo")
    @click.option("--staff", type=click.IntRange(1), default=None,
                  help="Number of staff to create (default: 2,400; 100,000 with --size large).")
    @click.option("--size", type=click.Choice(["standard", "large"]), default="standard", show_default=True,
                  help="large: 1,000 departments and two years of history (for benchmarks).")
    @click.option("--seed", default=20261122, show_default=True)
    @click.option("--if-empty", is_flag=True, help="Do nothing if the database already has users.")
    @click.option("--quiet", is_flag=True, help="Do not print the demo logins.")
    def demo(staff, size, seed, if_empty, quiet):
        """Build a demo city (departments, staff, plan, months of history) and print the demo logins."""
        from app.demo.services import build_demo, demo_logins, has_users

        if if_empty and has_users():
            click.echo("demo: the database already has users; left as it is.")
        else:
            try:
                build_demo(staff=staff, seed=seed, size=size)
            except ContentError as exc:
                fail(exc.errors)
            db.session.commit()
        if not quiet:
            for line in demo_logins():
                click.echo(line)

    @app.cli.group("exams")
    def exams_group():
        """Exams: regrade finished attempts after a key fix."""

    @exams_group.command("regrade")
    @click.argument("exam_code")
    @click.option("--question", "question_ids", type=click.IntRange(1, 2**31 - 1), multiple=True,
                  help="Question id to regrade (repeatable). None: every question with a newer version than shown.")
    @click.option("--dry-run", is_flag=True, help="Report who would change; write nothing.")
    def exams_regrade(exam_code, question_ids, dry_run):
        """Regrade EXAM_CODE's finished attempts against the current versions of the chosen questions:
        scores, pass/fail and certificates (issued to new passes, revoked with reason 'regrade')."""
        from app.core.errors import DomainError
        from app.exams.regrade import load_exam, regrade_exam

        exam = load_exam(exam_code)
        if exam is None:
            fail([f"exams regrade: no exam with code '{exam_code}'"])
        try:
            report = regrade_exam(exam, list(question_ids), dry_run=dry_run)
        except DomainError as exc:
            db.session.rollback()
            fail([f"exams regrade: {exc.message}"])
        if dry_run:
            db.session.rollback()
        else:
            from app.audit.services import record

            record(None, "exam.regrade", f"exam:{exam.code}",
                   {"questions": list(question_ids), "attempts_changed": len(report.changes),
                    "report": report.lines()[:200], "via": "cli"})
            db.session.commit()
        for line in report.lines():
            click.echo(line)

    @exams_group.command("grade-tasks")
    @click.option("--limit", type=click.IntRange(1, 100_000), default=500, show_default=True,
                  help="Check at most this many uploads in this run.")
    def exams_grade_tasks(limit):
        """Check the uploaded files of submitted attempts once (what the scheduler's
        check-practical-uploads job does): per-rule marks, then each attempt's score, pass and certificate."""
        from app.exams.practical import check_pending_uploads

        done = check_pending_uploads(limit)
        db.session.commit()
        click.echo(f"checked {done} uploaded file(s)")
