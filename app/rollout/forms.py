"""Forms of the plan pages (admins) and the officer actions on a person record.

The plan form's simple fields are WTForms fields (CSRF, types); the department tree (audience and
exclusions), the positions and the milestone rows are lists of checkboxes and rows, read by
:func:`plan_input_from`. Every rule of the plan is checked by :func:`app.rollout.editing.validate`,
whose field errors the page shows next to each field.
"""
from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.rollout.editing import PlanInput, WaveInput
from app.rollout.models import DUE_AFTER_HIRE, DUE_AFTER_TRANSFER, DUE_FIXED

MILESTONE_ROWS_MAX = 24
BLANK_ROWS = 2


class PlanForm(FlaskForm):
    """Name, requirement, dates, due-date rule and active flag of a plan."""

    name_zh = StringField(_l("Name (Chinese)"), validators=[DataRequired(), Length(max=200)])
    name_en = StringField(_l("Name (English)"), validators=[Optional(), Length(max=200)])
    certification_id = SelectField(_l("Requirement: certification"), coerce=int, validate_choice=False)
    starts_on = DateField(_l("Starts on"), validators=[DataRequired()])
    ends_on = DateField(_l("Ends on"), validators=[DataRequired()])
    due_rule = SelectField(_l("Each person's due date"), choices=[
        (DUE_FIXED, _l("The plan's end date (or their wave's)")),
        (DUE_AFTER_HIRE, _l("A number of days after they joined")),
        (DUE_AFTER_TRANSFER, _l("A number of days after their latest transfer")),
    ], validate_choice=False)
    due_days = IntegerField(_l("Days"), validators=[Optional(), NumberRange(min=1, max=3650)])
    positions_other = TextAreaField(_l("Other positions (one per line)"), validators=[Optional(), Length(max=5000)])
    grades_other = TextAreaField(_l("Other grades (one per line)"), validators=[Optional(), Length(max=5000)])
    active = BooleanField(_l("Active (people are enrolled and see the plan)"), default=True)


class WaveForm(FlaskForm):
    """One wave: name and dates (its departments are tree checkboxes named ``wave_department``)."""

    name = StringField(_l("Wave name"), validators=[DataRequired(), Length(max=200)])
    starts_on = DateField(_l("Starts on"), validators=[DataRequired()])
    ends_on = DateField(_l("Ends on"), validators=[DataRequired()])


class ExemptionForm(FlaskForm):
    """Exempt one person (chosen from a search) with a reason."""

    user_id = IntegerField(validators=[DataRequired()])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])


def _ids(form: MultiDict, name: str) -> list[int]:
    out = []
    for value in form.getlist(name):
        value = (value or "").strip()
        if value.isascii() and value.isdigit() and len(value) <= 9:
            out.append(int(value))
    return out


def _date(text: str | None) -> dt.date | None:
    text = (text or "").strip()
    try:
        return dt.date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


def milestone_rows(form: MultiDict, prefix: str = "m") -> list[dict]:
    """The milestone rows as posted (fields ``<prefix>-<i>-due_on`` / ``-target`` / ``-remove``):
    ``[{"due_on": text, "target": text, "remove": bool}]`` (at most 24)."""
    rows = []
    for index in range(MILESTONE_ROWS_MAX):
        due, target = form.get(f"{prefix}-{index}-due_on"), form.get(f"{prefix}-{index}-target")
        if due is None and target is None:
            continue
        rows.append({"due_on": (due or "").strip()[:20], "target": (target or "").strip()[:20],
                     "remove": form.get(f"{prefix}-{index}-remove") == "1"})
    return rows


def kept_milestone_rows(form: MultiDict, prefix: str = "m") -> list[dict]:
    """:func:`milestone_rows` without blank rows and rows ticked "remove" (row ``i`` is milestone ``i``
    of the input the service checks, so its messages can be shown beside it)."""
    return [row for row in milestone_rows(form, prefix) if not row["remove"] and (row["due_on"] or row["target"])]


def plan_input_from(form: PlanForm, posted: MultiDict, key: str | None = None) -> tuple[PlanInput, list[dict]]:
    """A :class:`PlanInput` from the posted page, and the milestone rows kept (raw text, to show
    again with their errors: row ``i`` is milestone ``i`` of the input). Blank rows and rows ticked
    "remove" are left out; a date that is not a date becomes None, which the service reports."""
    kept = kept_milestone_rows(posted)
    positions = posted.getlist("position") + (form.positions_other.data or "").splitlines()
    grades = posted.getlist("grade") + (form.grades_other.data or "").splitlines()
    data = PlanInput(
        key=key, name_zh=form.name_zh.data or "", name_en=form.name_en.data or "",
        certification_id=form.certification_id.data or None,
        starts_on=form.starts_on.data, ends_on=form.ends_on.data,
        audience_ids=_ids(posted, "audience"), exclusion_ids=_ids(posted, "exclude"),
        course_ids=_ids(posted, "course"),
        positions=[p[:200] for p in positions][:200], grades=[g[:200] for g in grades][:200], due_rule=form.due_rule.data or DUE_FIXED,
        due_days=form.due_days.data, milestones=[(_date(r["due_on"]), r["target"]) for r in kept],
        active=bool(form.active.data))
    return data, kept


def wave_input_from(form: WaveForm, posted: MultiDict) -> WaveInput:
    """A :class:`WaveInput` from the wave form, its department checkboxes and its milestone rows
    (``wm-<i>-due_on`` / ``wm-<i>-target``; blank rows left out)."""
    return WaveInput(name=form.name.data or "", starts_on=form.starts_on.data, ends_on=form.ends_on.data,
                     department_ids=_ids(posted, "wave_department"),
                     milestones=[(_date(r["due_on"]), r["target"]) for r in kept_milestone_rows(posted, "wm")])


def wave_milestones_from(posted: MultiDict) -> tuple[list[tuple], list[dict]]:
    """One wave's milestone rows as posted on the waves page (``wm-<i>-due_on`` / ``-target`` /
    ``-remove``): ``([(due_on date or None, target text)], the rows kept)``, blank and removed rows left
    out (row ``i`` is milestone ``i``, so the service's ``milestones-<i>-…`` messages go beside it)."""
    kept = kept_milestone_rows(posted, "wm")
    return [(_date(r["due_on"]), r["target"]) for r in kept], kept
