"""Creating and changing rollout plans: the one service behind the admin pages and ``flask rollout load-plan``.

Both callers describe the plan they want as a :class:`PlanInput` (plain values, ids, local dates)
and call :func:`save_plan`, which

1. checks everything (:func:`validate`) and raises :class:`PlanInvalid` with messages per field
   (``{"name_zh": [...], "milestones-1-target": [...]}``) before anything is written;
2. creates the plan or updates it in place (milestones matched by date, exemptions by person, waves
   replaced), naming what changed;
3. records one audit event (``rollout_plan.create`` / ``rollout_plan.update``, target ``plan:<id>``);
4. (re)assigns enrolments with :func:`~app.rollout.services.assign`: idempotent, so saving the same
   plan twice creates nothing the second time; existing enrolments keep their due dates.

Officer actions on one person (exempt with a reason, lift it) are :func:`exempt` and
:func:`lift_exemption`. Every function flushes; the caller commits once.
"""
from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import func, select

from app.audit.services import record
from app.auth.models import User
from app.certification.models import Certification
from app.core.errors import DomainError
from app.core.time import utcnow
from app.extensions import db
from app.learning.models import Course
from app.org.models import Department, DepartmentClosure
from app.org.services import subtree_ids
from app.rollout.models import DUE_FIXED, DUE_RULES, Exemption, Milestone, PlanWave, RolloutPlan, WaveMilestone
from app.rollout.services import (AssignResult, assign, discard_today_snapshot, due_date_for, due_dates,
                                  eligible_conditions)

NAME_MAX = 200
POSITION_MAX = 100
GRADE_MAX = 40
MAX_POSITIONS = 50
MAX_DUE_DAYS = 3650
MAX_REASON = 500
KEY_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")
_IN_CHUNK = 500


class PlanInvalid(Exception):
    """The plan as given cannot be saved. ``errors``: field name → list of translated messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


@dataclass
class WaveInput:
    """One wave: ``name``, local dates, the departments (ids) whose subtrees it covers and, optionally,
    its own milestones (its departments are then measured against them instead of the plan's)."""

    name: str
    starts_on: dt.date | None
    ends_on: dt.date | None
    department_ids: list[int] = field(default_factory=list)
    # The wave's own milestones ``(due_on, target)`` like the plan's; empty: the wave follows the plan's.
    milestones: list[tuple] = field(default_factory=list)


@dataclass
class PlanInput:
    """Everything a plan is made of, as plain values.

    Dates are local dates; ``milestones`` are ``(due_on, target)`` with the target as text or a
    number, percent 0–100 with at most two decimals; ``exemptions`` maps user id → reason.
    ``waves`` / ``exemptions`` None means "leave them as they are" (the main edit page does not
    show them); a list/dict replaces them exactly.
    """

    name_zh: str
    name_en: str = ""
    certification_id: int | None = None
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    audience_ids: list[int] = field(default_factory=list)
    exclusion_ids: list[int] = field(default_factory=list)
    course_ids: list[int] = field(default_factory=list)
    positions: list[str] = field(default_factory=list)
    grades: list[str] = field(default_factory=list)
    due_rule: str = DUE_FIXED
    due_days: int | None = None
    milestones: list[tuple] = field(default_factory=list)
    active: bool = True
    key: str | None = None
    waves: list[WaveInput] | None = None
    exemptions: dict[int, str] | None = None


@dataclass
class SaveResult:
    """What :func:`save_plan` did: ``action`` ``created`` / ``updated`` / ``unchanged``; ``changes``
    names the parts changed (``name``, ``certification``, ``dates``, ``active`` / ``inactive``,
    ``audience``, ``exclusions``, ``positions``, ``grades``, ``due_rule``, ``milestones``, ``waves``, ``exemptions``)."""

    plan: RolloutPlan
    action: str
    changes: list[str]
    assigned: AssignResult


def _chunks(values: list, size: int = _IN_CHUNK):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _percent(value) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or not Decimal(0) <= number <= Decimal(100) or number != number.quantize(Decimal("0.01")):
        return None
    return number.quantize(Decimal("0.01"))


def _inside(department_ids: list[int], roots: list[int]) -> set[int]:
    """The ids of ``department_ids`` that lie in the subtree of one of ``roots``."""
    if not department_ids or not roots:
        return set()
    return set(db.session.execute(select(DepartmentClosure.descendant_id).where(
        DepartmentClosure.descendant_id.in_(department_ids), DepartmentClosure.ancestor_id.in_(roots))).scalars())


def _check_milestones(rows: list[tuple], starts_on: dt.date | None, ends_on: dt.date | None, prefix: str,
                      errors: dict[str, list[str]], outside: str) -> list[tuple[dt.date, Decimal]]:
    """Check milestone rows ``(due_on, target)`` (a plan's or a wave's): dates present, distinct and
    within ``starts_on``..``ends_on`` (when both given; else ``outside`` is not reported), targets
    0–100 with at most two decimals, never decreasing over time. Messages go to ``errors`` under
    ``<prefix>``, ``<prefix>-<i>-due_on`` and ``<prefix>-<i>-target``. Returns the valid rows sorted
    by date, targets as Decimal."""
    milestones: dict[dt.date, Decimal] = {}
    for index, (due_on, target) in enumerate(rows):
        percent = _percent(target)
        if due_on is None:
            errors[f"{prefix}-{index}-due_on"].append(_("Enter a date like 2026-06-30."))
        elif due_on in milestones:
            errors[f"{prefix}-{index}-due_on"].append(_("Another milestone is due on this date."))
        elif starts_on is not None and ends_on is not None and not starts_on <= due_on <= ends_on:
            errors[f"{prefix}-{index}-due_on"].append(outside)
        if percent is None:
            errors[f"{prefix}-{index}-target"].append(_("Enter a percentage from 0 to 100 (at most two decimals)."))
        if due_on is not None and percent is not None and due_on not in milestones:
            milestones[due_on] = percent
    previous = None
    for due_on in sorted(milestones):
        if previous is not None and milestones[due_on] < previous:
            errors[prefix].append(_("Targets may not decrease over time."))
            break
        previous = milestones[due_on]
    return sorted(milestones.items())


def validate(data: PlanInput, plan: RolloutPlan | None = None) -> dict[str, list[str]]:
    """Every problem with ``data`` as ``{field: [message, …]}`` (empty when it can be saved).

    ``plan`` is the plan being edited (None for a new one; used for the key's uniqueness).
    Fields: ``key``, ``name_zh``, ``name_en``, ``certification``, ``courses``, ``starts_on``, ``ends_on``, ``audience``,
    ``exclusions``, ``positions``, ``grades``, ``due_rule``, ``due_days``, ``milestones``, ``milestones-<i>-due_on``,
    ``milestones-<i>-target``, ``waves``, ``waves-<i>-<field>``, ``exemptions``.
    """
    errors: dict[str, list[str]] = defaultdict(list)
    data.name_zh, data.name_en = (data.name_zh or "").strip(), (data.name_en or "").strip()
    if data.key is not None:
        if not KEY_PATTERN.fullmatch(data.key):
            errors["key"].append(_("Use 1–80 letters, digits, '.', '_' or '-'."))
        else:
            other = db.session.execute(select(RolloutPlan.id).where(RolloutPlan.key == data.key)).scalar_one_or_none()
            if other is not None and (plan is None or other != plan.id):
                errors["key"].append(_("Another plan already has this key."))
    if not data.name_zh:
        errors["name_zh"].append(_("The Chinese name is required."))
    for name in ("name_zh", "name_en"):
        if len(getattr(data, name)) > NAME_MAX:
            errors[name].append(_("At most %(max)s characters.", max=NAME_MAX))

    data.certification_id = data.certification_id or None
    certification = db.session.get(Certification, data.certification_id) if data.certification_id else None
    if data.certification_id and certification is None:
        errors["certification"].append(_("Unknown certification."))
    elif certification is not None and not certification.active and data.active:
        errors["certification"].append(_("This certification is retired; an active plan needs an active one."))
    data.course_ids = list(dict.fromkeys(data.course_ids))
    if data.certification_id is None and not data.course_ids:
        errors["certification"].append(_("Require a certification, at least one course, or both."))

    found_courses = set(db.session.execute(select(Course.id).where(Course.id.in_(data.course_ids))).scalars()) \
        if data.course_ids else set()
    for course_id in data.course_ids:
        if course_id not in found_courses:
            errors["courses"].append(_("Unknown course %(id)s.", id=course_id))

    if data.starts_on is None:
        errors["starts_on"].append(_("Enter a date like 2026-06-01."))
    if data.ends_on is None:
        errors["ends_on"].append(_("Enter a date like 2026-12-31."))
    dates_ok = data.starts_on is not None and data.ends_on is not None
    if dates_ok and data.ends_on < data.starts_on:
        errors["ends_on"].append(_("The end is before the start."))
        dates_ok = False

    data.audience_ids = list(dict.fromkeys(data.audience_ids))
    data.exclusion_ids = list(dict.fromkeys(data.exclusion_ids))
    known = {d.id: d for d in db.session.execute(select(Department).where(
        Department.id.in_(data.audience_ids + data.exclusion_ids + [
            i for w in (data.waves or []) for i in w.department_ids]))).scalars()}
    if not data.audience_ids:
        errors["audience"].append(_("Choose at least one department."))
    for dept_id in data.audience_ids:
        department = known.get(dept_id)
        if department is None:
            errors["audience"].append(_("Unknown department %(id)s.", id=dept_id))
        elif not department.active:
            errors["audience"].append(_("Department %(name)s is inactive.", name=department.name))
    inside = _inside(data.exclusion_ids, data.audience_ids)
    for dept_id in data.exclusion_ids:
        department = known.get(dept_id)
        if department is None:
            errors["exclusions"].append(_("Unknown department %(id)s.", id=dept_id))
        elif dept_id in data.audience_ids:
            errors["exclusions"].append(_("%(name)s is both in the audience and excluded.", name=department.name))
        elif dept_id not in inside:
            errors["exclusions"].append(_("%(name)s is not inside the audience.", name=department.name))

    for name, limit in (("positions", POSITION_MAX), ("grades", GRADE_MAX)):
        values = []
        for text in getattr(data, name):
            text = (text or "").strip()
            if not text or text in values:
                continue
            if len(text) > limit:
                errors[name].append(_("A position or grade has at most %(max)s characters.", max=limit))
            values.append(text)
        if len(values) > MAX_POSITIONS:
            errors[name].append(_("At most %(max)s positions or grades.", max=MAX_POSITIONS))
        setattr(data, name, values)

    if data.due_rule not in DUE_RULES:
        errors["due_rule"].append(_("Choose how due dates are set."))
    elif data.due_rule == DUE_FIXED:
        data.due_days = None
    elif data.due_days is None or isinstance(data.due_days, bool) or not 1 <= data.due_days <= MAX_DUE_DAYS:
        errors["due_days"].append(_("Enter a number of days from 1 to %(max)s.", max=MAX_DUE_DAYS))

    if not data.milestones:
        errors["milestones"].append(_("Add at least one milestone."))
    data.milestones = _check_milestones(data.milestones, data.starts_on if dates_ok else None,
                                        data.ends_on if dates_ok else None, "milestones", errors,
                                        _("Must lie between the plan's start and end."))

    for index, wave in enumerate(data.waves or []):
        wave.name = (wave.name or "").strip()
        if not wave.name:
            errors[f"waves-{index}-name"].append(_("A wave needs a name."))
        elif len(wave.name) > NAME_MAX:
            errors[f"waves-{index}-name"].append(_("At most %(max)s characters.", max=NAME_MAX))
        if wave.starts_on is None or wave.ends_on is None:
            errors[f"waves-{index}-dates"].append(_("Enter both dates."))
        elif wave.ends_on < wave.starts_on:
            errors[f"waves-{index}-dates"].append(_("The end is before the start."))
        elif dates_ok and not (data.starts_on <= wave.starts_on and wave.ends_on <= data.ends_on):
            errors[f"waves-{index}-dates"].append(_("A wave must lie within the plan's dates."))
        wave.department_ids = list(dict.fromkeys(wave.department_ids))
        if not wave.department_ids:
            errors[f"waves-{index}-departments"].append(_("Choose at least one department."))
        inside = _inside(wave.department_ids, data.audience_ids)
        for dept_id in wave.department_ids:
            if dept_id not in inside:
                name = known[dept_id].name if dept_id in known else str(dept_id)
                errors[f"waves-{index}-departments"].append(_("%(name)s is not inside the audience.", name=name))
        wave_dates_ok = wave.starts_on is not None and wave.ends_on is not None and wave.starts_on <= wave.ends_on
        wave.milestones = _check_milestones(wave.milestones, wave.starts_on if wave_dates_ok else None,
                                            wave.ends_on if wave_dates_ok else None, f"waves-{index}-milestones",
                                            errors, _("Must lie between the wave's start and end."))

    for user_id, reason in (data.exemptions or {}).items():
        reason = (reason or "").strip()
        if not reason:
            errors["exemptions"].append(_("An exemption needs a reason."))
            break
        if len(reason) > MAX_REASON:
            errors["exemptions"].append(_("A reason has at most %(max)s characters.", max=MAX_REASON))
            break
    return dict(errors)


def save_plan(actor: User | None, data: PlanInput, plan: RolloutPlan | None = None, *, ip: str | None = None,
              source: str = "browser") -> SaveResult:
    """Validate ``data``, then create a plan (``plan`` None) or update ``plan`` to match it, audit the
    change and, for an active plan, :func:`assign` enrolments.

    All-or-nothing: raises :class:`PlanInvalid` (nothing written) when :func:`validate` finds
    anything. ``actor`` None means a script (the CLI). ``source`` (``browser`` / ``yaml``) goes into
    the audit detail. Saving the same input twice reports ``unchanged`` the second time, records no
    second event and creates no enrolments. Flushes; the caller commits.
    """
    errors = validate(data, plan)
    if errors:
        raise PlanInvalid(errors)
    audience = list(db.session.execute(select(Department).where(Department.id.in_(data.audience_ids))).scalars())
    exclusions = list(db.session.execute(select(Department).where(Department.id.in_(data.exclusion_ids))).scalars()) \
        if data.exclusion_ids else []
    courses = list(db.session.execute(select(Course).where(Course.id.in_(data.course_ids))).scalars()) \
        if data.course_ids else []
    changes: list[str] = []
    if plan is None:
        action = "created"
        plan = RolloutPlan(key=data.key, name_zh=data.name_zh, name_en=data.name_en,
                           certification_id=data.certification_id, starts_on=data.starts_on, ends_on=data.ends_on,
                           active=data.active, audience=audience, exclusions=exclusions, positions=data.positions,
                           grades=data.grades, courses=courses,
                           due_rule=data.due_rule, due_days=data.due_days)
        db.session.add(plan)
        db.session.flush()
    else:
        action = "unchanged"
        db.session.execute(select(RolloutPlan.id).where(RolloutPlan.id == plan.id).with_for_update())
        if data.key is not None and plan.key != data.key:
            plan.key = data.key
            changes.append("key")
        if (plan.name_zh, plan.name_en) != (data.name_zh, data.name_en):
            plan.name_zh, plan.name_en = data.name_zh, data.name_en
            changes.append("name")
        if plan.certification_id != data.certification_id:
            plan.certification_id = data.certification_id
            changes.append("certification")
        if (plan.starts_on, plan.ends_on) != (data.starts_on, data.ends_on):
            plan.starts_on, plan.ends_on = data.starts_on, data.ends_on
            changes.append("dates")
        if plan.active != data.active:
            plan.active = data.active
            changes.append("active" if data.active else "inactive")
        if {c.id for c in plan.courses} != set(data.course_ids):
            plan.courses = courses
            changes.append("courses")
        if {d.id for d in plan.audience} != set(data.audience_ids):
            plan.audience = audience
            changes.append("audience")
        if {d.id for d in plan.exclusions} != set(data.exclusion_ids):
            plan.exclusions = exclusions
            changes.append("exclusions")
        if list(plan.positions or []) != data.positions:
            plan.positions = data.positions
            changes.append("positions")
        if list(plan.grades or []) != data.grades:
            plan.grades = data.grades
            changes.append("grades")
        if (plan.due_rule, plan.due_days) != (data.due_rule, data.due_days):
            plan.due_rule, plan.due_days = data.due_rule, data.due_days
            changes.append("due_rule")

    wanted = dict(data.milestones)
    existing = {m.due_on: m for m in plan.milestones}
    milestone_changed = False
    for due_on, milestone in existing.items():
        if due_on not in wanted:
            plan.milestones.remove(milestone)
            milestone_changed = True
        elif Decimal(milestone.target_percent).quantize(Decimal("0.01")) != wanted[due_on]:
            milestone.target_percent = wanted[due_on]
            milestone_changed = True
    for due_on, target in wanted.items():
        if due_on not in existing:
            plan.milestones.append(Milestone(due_on=due_on, target_percent=target))
            milestone_changed = True
    if milestone_changed and action != "created":
        changes.append("milestones")

    if data.waves is not None:
        current = [(w.name, w.starts_on, w.ends_on, sorted(d.id for d in w.departments),
                    [(m.due_on, Decimal(m.target_percent).quantize(Decimal("0.01"))) for m in w.milestones])
                   for w in plan.waves]
        new = [(w.name, w.starts_on, w.ends_on, sorted(w.department_ids), list(w.milestones)) for w in data.waves]
        if sorted(current, key=repr) != sorted(new, key=repr):
            plan.waves.clear()
            db.session.flush()
            for w in data.waves:
                plan.waves.append(PlanWave(name=w.name, starts_on=w.starts_on, ends_on=w.ends_on,
                                           departments=list(db.session.execute(select(Department).where(
                                               Department.id.in_(w.department_ids))).scalars()),
                                           milestones=[WaveMilestone(due_on=d, target_percent=t)
                                                       for d, t in w.milestones]))
            if action != "created":
                changes.append("waves")

    if data.exemptions is not None:
        rows = {e.user_id: e for e in db.session.execute(
            select(Exemption).where(Exemption.plan_id == plan.id)).scalars()}
        exemption_changed = False
        for user_id, row in rows.items():
            if user_id not in data.exemptions:
                db.session.delete(row)
                exemption_changed = True
            elif row.reason != data.exemptions[user_id].strip():
                row.reason = data.exemptions[user_id].strip()
                exemption_changed = True
        for user_id, reason in data.exemptions.items():
            if user_id not in rows:
                db.session.add(Exemption(plan_id=plan.id, user_id=user_id, reason=reason.strip(),
                                         created_by_id=actor.id if actor else None))
                exemption_changed = True
        if exemption_changed and action != "created":
            changes.append("exemptions")

    if action != "created" and changes:
        action = "updated"
        plan.updated_at = utcnow()
    db.session.flush()
    if action != "unchanged":
        discard_today_snapshot(plan)
        record(actor.id if actor else None, f"rollout_plan.{'create' if action == 'created' else 'update'}",
               f"plan:{plan.id}", {"source": source, "key": plan.key, "name": plan.name_zh, "changes": changes,
                                    "starts_on": plan.starts_on.isoformat(), "ends_on": plan.ends_on.isoformat(),
                                    "audience": sorted(data.audience_ids), "exclusions": sorted(data.exclusion_ids),
                                    "positions": data.positions, "grades": data.grades, "due_rule": data.due_rule,
                                    "due_days": data.due_days, **_waves_detail(data, changes)}, ip)
    assigned = assign(plan) if plan.active else AssignResult()
    if assigned.created:
        record(actor.id if actor else None, "rollout_plan.assign", f"plan:{plan.id}",
               {"created": assigned.created}, ip)
    return SaveResult(plan=plan, action=action, changes=changes, assigned=assigned)


# --- exemptions of one person ------------------------------------------------------------------

def reason_text(text: str | None) -> str:
    """The reason, stripped; required, at most 500 characters. Raises DomainError (code ``bad_input``)."""
    text = (text or "").replace("\x00", "").strip()
    if not text:
        raise DomainError(_("Reason: please say why (it is recorded in the audit log)."), code="bad_input")
    if len(text) > MAX_REASON:
        raise DomainError(_("Reason: at most %(max)s characters.", max=MAX_REASON), code="bad_input")
    return text


def in_audience(plan: RolloutPlan, user_id: int) -> bool:
    """True if the person is in the plan's audience (active, audience subtree, not excluded, position),
    whether exempted or not."""
    conditions = eligible_conditions(plan)[:-1]  # everything but "not exempted"
    return db.session.execute(select(User.id).where(User.id == user_id, *conditions)).first() is not None


def exempt(actor: User, plan: RolloutPlan, person: User, reason: str, ip: str | None = None) -> Exemption:
    """Take ``person`` out of ``plan``'s eligible staff with ``reason`` (recorded with actor and time);
    a second call changes the reason. The person must be in the plan's audience (DomainError
    otherwise). Scope is the caller's duty (views load the person scoped in the query). Audited as
    ``rollout_plan.exempt``. Enrolments are kept (the person may still study). Flushes."""
    reason = reason_text(reason)
    if not in_audience(plan, person.id):
        raise DomainError(_("This person is not in the plan's audience."), code="bad_input")
    row = db.session.execute(select(Exemption).where(
        Exemption.plan_id == plan.id, Exemption.user_id == person.id)).scalar_one_or_none()
    if row is None:
        row = Exemption(plan_id=plan.id, user_id=person.id, reason=reason, created_by_id=actor.id, created_at=utcnow())
        db.session.add(row)
    else:
        row.reason, row.created_by_id = reason, actor.id
    db.session.flush()
    discard_today_snapshot(plan)  # the whole-city dashboard counts live until the next refresh
    record(actor.id, "rollout_plan.exempt", f"user:{person.id}", {"plan": plan.id, "reason": reason}, ip)
    return row


def lift_exemption(actor: User, plan: RolloutPlan, person: User, ip: str | None = None) -> bool:
    """Remove ``person``'s exemption from ``plan`` (they count as eligible again) and assign the plan's
    enrolments to them. Returns False if there was none. Audited as ``rollout_plan.lift_exemption``
    with the old reason. Flushes."""
    row = db.session.execute(select(Exemption).where(
        Exemption.plan_id == plan.id, Exemption.user_id == person.id)).scalar_one_or_none()
    if row is None:
        return False
    reason = row.reason
    db.session.delete(row)
    db.session.flush()
    discard_today_snapshot(plan)
    record(actor.id, "rollout_plan.lift_exemption", f"user:{person.id}", {"plan": plan.id, "reason": reason}, ip)
    if plan.active:
        assign(plan)
    return True


def exemptions_of(person_id: int) -> list[Exemption]:
    """The person's exemptions (any plan), newest first."""
    return list(db.session.execute(select(Exemption).where(Exemption.user_id == person_id)
                                   .order_by(Exemption.created_at.desc())).scalars())


def exemptions_of_plan(plan: RolloutPlan, limit: int = 500) -> list[Exemption]:
    """The plan's exemptions, by the person's staff number (at most ``limit``)."""
    return list(db.session.execute(select(Exemption).join(User, User.id == Exemption.user_id)
                                   .where(Exemption.plan_id == plan.id).order_by(User.staff_number)
                                   .limit(limit)).scalars())


def search_audience(plan: RolloutPlan, text: str, limit: int = 20) -> list[User]:
    """People of the plan's audience whose staff number starts with, or whose name contains, ``text``."""
    text = (text or "").strip()[:100]
    if not text:
        return []
    pattern = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    conditions = eligible_conditions(plan)[:-1]
    return list(db.session.execute(select(User).where(
        *conditions, (User.staff_number.like(pattern + "%", escape="\\")) | (User.name.like(f"%{pattern}%", escape="\\")))
        .order_by(User.staff_number).limit(limit)).scalars())


def plan_input_of(plan: RolloutPlan) -> PlanInput:
    """The plan as a :class:`PlanInput` (waves and exemptions left None: unchanged on save)."""
    return PlanInput(name_zh=plan.name_zh, name_en=plan.name_en, certification_id=plan.certification_id,
                     starts_on=plan.starts_on, ends_on=plan.ends_on, audience_ids=[d.id for d in plan.audience],
                     exclusion_ids=[d.id for d in plan.exclusions], positions=list(plan.positions or []),
                     grades=list(plan.grades or []), course_ids=[c.id for c in plan.courses],
                     due_rule=plan.due_rule, due_days=plan.due_days,
                     milestones=[(m.due_on, m.target_percent) for m in plan.milestones], active=plan.active,
                     key=plan.key)


def _waves_detail(data: PlanInput, changes: list[str]) -> dict:
    """The waves as saved, for the audit detail, when they changed: ``{"waves": [{name, starts_on,
    ends_on, departments, milestones: [[date, target percent text]]}]}``; else ``{}``."""
    if data.waves is None or "waves" not in changes:
        return {}
    return {"waves": [{"name": w.name, "starts_on": w.starts_on.isoformat(), "ends_on": w.ends_on.isoformat(),
                       "departments": sorted(w.department_ids),
                       "milestones": [[d.isoformat(), f"{Decimal(t).normalize():f}"] for d, t in w.milestones]}
                      for w in data.waves]}


def set_wave_milestones(actor: User | None, plan: RolloutPlan, wave_id: int, milestones: list[tuple], *,
                        ip: str | None = None) -> SaveResult:
    """Replace the milestones of the plan's wave ``wave_id`` with ``milestones`` (``(due_on, target)`` as
    in :class:`WaveInput`; empty: the wave follows the plan's milestones), through :func:`save_plan`
    (the YAML loader's service: the same checks, the ``rollout_plan.update`` audit event with the waves
    as saved, ``unchanged`` when nothing differs). The other waves are kept as they are.

    Raises :class:`LookupError` when the plan has no such wave, :class:`PlanInvalid` with the messages
    of that wave's milestones keyed ``milestones`` / ``milestones-<j>-due_on`` / ``milestones-<j>-target``
    (nothing written). Flushes; the caller commits. The waves are saved anew (new wave ids)."""
    waves = wave_inputs_of(plan)
    index = next((i for i, w in enumerate(plan.waves) if w.id == wave_id), None)
    if index is None:
        raise LookupError(wave_id)
    waves[index].milestones = list(milestones)
    data = plan_input_of(plan)
    data.waves = waves
    try:
        return save_plan(actor, data, plan, ip=ip)
    except PlanInvalid as invalid:
        prefix = f"waves-{index}-"
        raise PlanInvalid({name[len(prefix):] if name.startswith(prefix) else name: messages
                           for name, messages in invalid.errors.items()}) from None


def wave_inputs_of(plan: RolloutPlan, *, without: int | None = None) -> list[WaveInput]:
    """The plan's waves as :class:`WaveInput` (with their milestones), leaving out wave id ``without``."""
    return [WaveInput(w.name, w.starts_on, w.ends_on, [d.id for d in w.departments],
                      [(m.due_on, m.target_percent) for m in w.milestones]) for w in plan.waves if w.id != without]


__all__ = ["AssignResult", "PlanInput", "PlanInvalid", "SaveResult", "WaveInput", "assign", "due_date_for", "due_dates",
           "exempt", "lift_exemption", "save_plan", "set_wave_milestones", "validate"]


# --- choices for the plan pages ---------------------------------------------------------------

@dataclass
class TreeNode:
    """A department and its children, for the checkbox tree."""

    department: Department
    children: list["TreeNode"] = field(default_factory=list)


def department_forest() -> list[TreeNode]:
    """Every active department as a forest (roots first, children by sort order and code). One query."""
    departments = list(db.session.execute(select(Department).where(Department.active.is_(True))
                                          .order_by(Department.depth, Department.sort_order, Department.code)).scalars())
    nodes = {d.id: TreeNode(d) for d in departments}
    roots = []
    for d in departments:
        parent = nodes.get(d.parent_id)
        (parent.children if parent else roots).append(nodes[d.id])
    return roots


@dataclass
class AudienceSummary:
    """What an audience selection covers today: ``departments`` (active departments in the included
    subtrees and not in an excluded one), ``people`` (active staff in those departments with one of
    the positions and grades when any are given; exemptions are not subtracted, so "about"),
    ``excluded`` (active departments inside the included subtrees that the exclusions cut out)."""

    departments: int
    people: int
    excluded: int


def audience_summary(audience_ids: list[int], exclusion_ids: list[int], positions: list[str] | None = None,
                     grades: list[str] | None = None) -> AudienceSummary:
    """The summary shown under the plan editor's department tree (:class:`AudienceSummary`), from
    the ticked ids as posted (unknown ids count for nothing). Three COUNT queries over the closure table."""
    if not audience_ids:
        return AudienceSummary(0, 0, 0)
    inside = subtree_ids(list(audience_ids))
    out = subtree_ids(list(exclusion_ids)) if exclusion_ids else None
    keep = [Department.id.not_in(out)] if out is not None else []
    departments = db.session.execute(select(func.count(Department.id)).where(
        Department.active.is_(True), Department.id.in_(inside), *keep)).scalar_one()
    excluded = db.session.execute(select(func.count(Department.id)).where(
        Department.active.is_(True), Department.id.in_(inside), Department.id.in_(out))).scalar_one() \
        if out is not None else 0
    people = [User.active.is_(True), User.department_id.in_(inside)]
    if out is not None:
        people.append(User.department_id.not_in(out))
    if positions:
        people.append(User.position.in_(list(positions)))
    if grades:
        people.append(User.grade.in_(list(grades)))
    count = db.session.execute(select(func.count(User.id)).where(*people)).scalar_one()
    return AudienceSummary(departments=int(departments), people=int(count), excluded=int(excluded))


def known_positions(limit: int = 60) -> list[str]:
    """The positions active staff hold (distinct, sorted), for the position filter's checkboxes."""
    return list(db.session.execute(select(User.position).where(User.active.is_(True), User.position.is_not(None),
                                                              User.position != "")
                                   .distinct().order_by(User.position).limit(limit)).scalars())


def known_grades(limit: int = 60) -> list[str]:
    """The grades active staff hold (distinct, sorted), for the grade filter's checkboxes."""
    return list(db.session.execute(select(User.grade).where(User.active.is_(True), User.grade.is_not(None),
                                                           User.grade != "")
                                   .distinct().order_by(User.grade).limit(limit)).scalars())


def courses() -> list[Course]:
    """Courses a plan may require besides its certification's (active first, by slug)."""
    return list(db.session.execute(select(Course).order_by(Course.active.desc(), Course.slug)).scalars())


def all_plans() -> list[RolloutPlan]:
    """Every plan (active first, newest start first)."""
    return list(db.session.execute(select(RolloutPlan).order_by(RolloutPlan.active.desc(), RolloutPlan.starts_on.desc(),
                                                               RolloutPlan.id.desc())).scalars())


def certifications() -> list[Certification]:
    """Certifications a plan may require (active first, by code)."""
    return list(db.session.execute(select(Certification).order_by(Certification.active.desc(),
                                                                  Certification.code)).scalars())


@dataclass
class PersonActions:
    """What an officer may do for one person and what was done: ``plans`` (visible plans whose
    audience holds the person, each ``(plan, exemption or None)``), ``exams`` (active exams, each
    ``(exam, CandidateSettings, attempts used)``), ``overrides`` (the person's exam overrides) and
    ``history`` (audit events about the person from these actions, newest first)."""

    plans: list[tuple]
    exams: list[tuple]
    overrides: list
    history: list


HISTORY_ACTIONS = ("rollout_plan.exempt", "rollout_plan.lift_exemption", "exam_override.extra_attempt",
                   "exam_override.extra_time", "exam_override.set", "exam_override.remove", "accommodation.set",
                   "accommodation.remove")


def person_actions(viewer: User, person: User) -> PersonActions:
    """The actions panel of a person record (see :class:`PersonActions`). ``person`` must already
    have been loaded within ``viewer``'s scope."""
    from app.audit.models import AuditEvent
    from app.exams.models import Exam, ExamOverride
    from app.exams.services import attempts_used, candidate_settings
    from app.rollout.services import plans_for

    exemptions = {e.plan_id: e for e in exemptions_of(person.id)}
    plans = [(p, exemptions.get(p.id)) for p in plans_for(viewer) if in_audience(p, person.id)]
    exams = [(e, candidate_settings(e, person.id), attempts_used(e.id, person.id)) for e in db.session.execute(
        select(Exam).where(Exam.active.is_(True)).order_by(Exam.code)).scalars()]
    overrides = list(db.session.execute(select(ExamOverride).where(ExamOverride.user_id == person.id)
                                        .order_by(ExamOverride.granted_at.desc())).scalars())
    history = list(db.session.execute(
        select(AuditEvent).where(AuditEvent.target == f"user:{person.id}", AuditEvent.action.in_(HISTORY_ACTIONS))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(50)).scalars())
    return PersonActions(plans=plans, exams=exams, overrides=overrides, history=history)
