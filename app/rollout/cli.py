"""``flask rollout``: load rollout plans from YAML files and list the plans with today's figures."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import click
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.content.report import ContentError
from app.core.time import local_date_end_utc, local_today
from app.core.cli import fail, refresh_statistics
from app.extensions import db
from app.rollout.models import RolloutPlan
from app.rollout.services import eligible_users, target_percent




def _percent(value: Decimal) -> str:
    """80.00 → '80', 62.50 → '62.5'."""
    text = f"{Decimal(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def init_app(app: Flask) -> None:
    """Register the ``rollout`` CLI group (``load-plan``, ``list-plans``, ``backfill``) on ``app`` (once; idempotent)."""
    if "rollout" in app.cli.commands:
        return

    @app.cli.group("rollout")
    def rollout():
        """Rollout plans kept as YAML files."""

    @rollout.command("load-plan")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--dry-run", is_flag=True, help="Check the file and report what would change; write nothing.")
    def load_plan(path, dry_run):
        """Create or update the rollout plan in PATH (all-or-nothing; idempotent) and enrol its audience."""
        from app.rollout.plans import load_plan_file

        try:
            summary = load_plan_file(path)
        except ContentError as exc:
            fail(exc.errors)
        except IntegrityError as exc:  # e.g. the same new key loaded twice at the same moment
            fail([f"{path}: the database refused the change ({exc.orig}); load the file again"])
        lines = summary.lines()
        if dry_run:
            db.session.rollback()
            lines[-1] = f"dry run: {lines[-1]}; nothing was written."
        else:
            try:
                db.session.commit()
            except IntegrityError as exc:
                fail([f"{path}: the database refused the change ({exc.orig}); load the file again"])
            if summary.new_enrolments:
                refresh_statistics("enrolment")
        for line in lines:
            click.echo(line)

    @rollout.command("backfill")
    @click.option("--from", "start", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
                  help="First local day (YYYY-MM-DD).")
    @click.option("--to", "end", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
                  help="Last local day (YYYY-MM-DD), not after today.")
    def backfill_command(start, end):
        """Rebuild the daily snapshots of every active plan from FROM to TO out of the events (idempotent).

        Each day is computed as of its end by the dashboard's own figures and committed on its own, so an
        interrupted run keeps the days done and can simply be run again."""
        from app.rollout.trend import check_range, take_snapshot

        start, end = start.date(), end.date()
        try:
            check_range(start, end)
        except ValueError as exc:
            fail([f"rollout backfill: {exc}"])
        day, total = start, 0
        while day <= end:
            total += take_snapshot(day)
            db.session.commit()
            day += dt.timedelta(days=1)
        click.echo(f"snapshots rebuilt for {(end - start).days + 1} day(s) from {start} to {end}: {total} row(s).")

    @rollout.command("list-plans")
    def list_plans():
        """List every plan: key, name, certification, dates, milestones, eligible and certified today."""
        today = local_today()
        as_of_end = local_date_end_utc(today)
        plans = list(db.session.execute(
            select(RolloutPlan).order_by(RolloutPlan.starts_on.desc(), RolloutPlan.id)).scalars())
        if not plans:
            click.echo("no rollout plans.")
            return
        for plan in plans:
            users = eligible_users(plan, as_of_end).subquery("eligible")
            eligible, certified = db.session.execute(
                select(func.count(users.c.user_id), func.coalesce(func.sum(users.c.certified), 0))).one()
            eligible, certified = int(eligible), int(certified)
            completion = f"{certified * 100 / eligible:.1f} %" if eligible else "–"
            state = "active" if plan.active else "inactive"
            click.echo(f"{plan.key or f'(no key, id {plan.id})'}  {plan.name_zh}  {plan.certification.code if plan.certification else '(courses only)'}  "
                       f"{plan.starts_on} → {plan.ends_on}  {state}")
            milestones = ", ".join(f"{m.due_on} {_percent(m.target_percent)} %" for m in plan.milestones) or "none"
            click.echo(f"    milestones: {milestones}")
            click.echo(f"    today ({today}): {eligible} eligible, {certified} certified ({completion}), "
                       f"target {_percent(target_percent(plan, today))} %")
