"""What the scheduler's notification jobs queue: learner reminders, officers' weekly digests, escalations.

Each function works out today's messages from the data and queues them with an event key
(:func:`app.notifications.services.queue`), so running it twice, or in two processes at once,
queues each message once; a run that was missed (scheduler down) catches up on its next run
because each rule covers a range of days, not one exact day. Dates are local dates in the
configured zone (``TIMEZONE``).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import exists, func, or_, select

from app.auth.models import OfficerScope, User
from app.certification.models import certification_course
from app.core.time import local_today
from app.extensions import db
from app.learning.models import Course, Enrolment
from app.org.models import Department, DepartmentClosure
from app.notifications.services import public_url, queue, queue_many, queued_keys, send_pending
from app.org.services import visible_department_ids
from app.rollout.models import Exemption, RolloutPlan, plan_course
from app.rollout.services import department_figures, department_paths, flatten, plan_targets, required_course_ids


def _exempted():
    """Correlated EXISTS: the enrolment's person is exempted from an active plan that requires its course
    (through the plan's certification or as one of the plan's own courses, so courses-only plans too:
    they are on leave, seconded, …: nobody should chase them for it)."""
    # Two levels below Enrolment: correlate explicitly (auto-correlation stops at the nearest SELECT).
    return exists().where(
        Exemption.user_id == Enrolment.user_id, Exemption.plan_id == RolloutPlan.id, RolloutPlan.active.is_(True),
        or_(exists().where(certification_course.c.certification_id == RolloutPlan.certification_id,
                           certification_course.c.course_id == Enrolment.course_id).correlate_except(certification_course),
            exists().where(plan_course.c.plan_id == RolloutPlan.id,
                           plan_course.c.course_id == Enrolment.course_id).correlate_except(plan_course)))


def _open_enrolments(*conditions):
    """SELECT (Enrolment.user_id, Enrolment.due_on, Course) of unfinished, dated enrolments of active,
    not exempted people, with extra ``conditions``."""
    return (select(Enrolment.user_id, Enrolment.due_on, Course)
            .join(Course, Course.id == Enrolment.course_id).join(User, User.id == Enrolment.user_id)
            .where(Enrolment.completed_at.is_(None), Enrolment.due_on.is_not(None), User.active.is_(True),
                   ~_exempted(), *conditions)
            .order_by(Enrolment.user_id, Enrolment.due_on, Course.slug))


def learner_reminder(due_on: dt.date, today: dt.date, days_before: int, overdue_weeks: int) -> tuple[str, str] | None:
    """(kind, event_key) of the reminder owed today for training due on ``due_on``, or None.

    ``due_soon`` from ``days_before`` days before the due date up to the day before (key: the due
    date); ``due_today`` on the day; then ``overdue`` once a week while unfinished: week 0 from the
    day after, week 1 from a week later, … (key ``<due date>:w<week>``), for ``overdue_weeks`` weeks.
    """
    if today < due_on - dt.timedelta(days=days_before):
        return None
    if today < due_on:
        return "due_soon", due_on.isoformat()
    if today == due_on:
        return "due_today", due_on.isoformat()
    week = ((today - due_on).days - 1) // 7
    if week >= overdue_weeks:
        return None
    return "overdue", f"{due_on.isoformat()}:w{week}"


def send_learner_reminders(today: dt.date | None = None) -> int:
    """Queue the reminders owed today (:func:`learner_reminder`) to every learner with unfinished
    training that has a due date: one message per person and due date, listing that date's courses.
    Returns the number of new messages (0 on a second run the same day)."""
    today = today or local_today()
    config = current_app.config
    days_before = int(config.get("REMINDER_DAYS_BEFORE", 7))
    weeks = int(config.get("REMINDER_OVERDUE_WEEKS", 12))
    earliest = today - dt.timedelta(days=7 * weeks + 1)
    groups: dict[tuple[int, dt.date], list[Course]] = defaultdict(list)
    for user_id, due_on, course in db.session.execute(_open_enrolments(
            Enrolment.due_on <= today + dt.timedelta(days=days_before), Enrolment.due_on >= earliest)):
        groups[(user_id, due_on)].append(course)
    if not groups:
        return 0
    owed = {group: learner_reminder(group[1], today, days_before, weeks) for group in groups}
    done = queued_keys(("due_soon", "due_today", "overdue"), since_key=earliest.isoformat())
    owed = {group: o for group, o in owed.items() if o is not None and (group[0], *o) not in done}
    if not owed:
        return 0
    users = {u.id: u for u in db.session.execute(
        select(User).where(User.id.in_({user_id for user_id, _ in owed}))).scalars()}
    link = public_url("learning.my_courses")
    return queue_many(
        (users[user_id], kind, key, {"link": link, "courses": groups[(user_id, due_on)], "due_on": due_on,
                                     "days_left": (due_on - today).days, "days_overdue": (today - due_on).days})
        for (user_id, due_on), (kind, key) in owed.items())


def iso_week(day: dt.date) -> str:
    """ISO week of ``day`` as ``2026-W49`` (weeks start on Monday)."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


DIGEST_MAX_NAMES = 50


def send_officer_digests(today: dt.date | None = None) -> int:
    """Queue this ISO week's digest to every active officer with people behind: staff in their scope
    (scoped in the query) with unfinished training past its due date, earliest due date first, at
    most DIGEST_MAX_NAMES named and the total. Officers with nobody behind get nothing. Key: the ISO
    week (``2026-W49``), so one digest per officer per week. Returns the number of new messages."""
    today = today or local_today()
    officers = list(db.session.execute(
        select(User).where(User.active.is_(True), exists().where(OfficerScope.user_id == User.id))
        .order_by(User.id)).scalars())
    link = public_url("rollout.dashboard")
    week = iso_week(today)
    paths = department_paths().alias("paths")
    new = 0
    for officer in officers:
        behind = (select(User.id, User.name, User.staff_number, paths.c.path, func.min(Enrolment.due_on),
                         func.count(Enrolment.id))
                  .join(Enrolment, Enrolment.user_id == User.id)
                  .join(paths, paths.c.id == User.department_id)
                  .where(Enrolment.completed_at.is_(None), Enrolment.due_on < today, User.active.is_(True),
                         ~_exempted(), User.department_id.in_(visible_department_ids(officer)))
                  .group_by(User.id, User.name, User.staff_number, paths.c.path))
        total = db.session.execute(select(func.count()).select_from(behind.subquery())).scalar_one()
        if not total:
            continue
        rows = [{"name": name, "staff_number": number, "department": path, "due_on": due_on, "courses": n}
                for _, name, number, path, due_on, n in db.session.execute(
                    behind.order_by(func.min(Enrolment.due_on), User.staff_number).limit(DIGEST_MAX_NAMES))]
        new += queue(officer, "digest", week, link=link, people=rows, total=total, today=today)
    return new


def _officers_above(department_id: int) -> list[int]:
    """Active officers of the nearest department at or above ``department_id`` that has any: ids."""
    rows = db.session.execute(
        select(OfficerScope.user_id, DepartmentClosure.depth)
        .join(DepartmentClosure, DepartmentClosure.ancestor_id == OfficerScope.department_id)
        .join(User, User.id == OfficerScope.user_id)
        .where(DepartmentClosure.descendant_id == department_id, User.active.is_(True))
        .order_by(DepartmentClosure.depth, OfficerScope.user_id)).all()
    if not rows:
        return []
    nearest = rows[0][1]
    return [user_id for user_id, depth in rows if depth == nearest]


def send_escalations(today: dt.date | None = None) -> int:
    """Tell the officer of each behind department's parent: for every active plan, every department whose
    latest passed milestone (``due_on`` before today; its wave's milestones when it is in a wave that has
    its own, else the plan's: :func:`app.rollout.services.plan_targets`, the dashboard's rule) asked for
    more than its completion today (certified — for a courses-only plan completed — ÷ eligible,
    :func:`app.rollout.services.department_figures`) goes
    to the officers of its parent department (or, if the parent has none, of the nearest department
    above with officers). One message per officer and plan per ISO week listing the departments
    (key ``plan<id>:<week>``); root departments have no one above and are not escalated.
    Returns the number of new messages."""
    today = today or local_today()
    everyone = SimpleNamespace(is_admin=True, id=None)  # the job sees the whole tree
    week = iso_week(today)
    link = public_url("rollout.dashboard")
    tree = department_paths().alias("p")
    paths = dict(db.session.execute(select(tree.c.id, tree.c.path)).all())
    new = 0
    for plan in db.session.execute(select(RolloutPlan).where(RolloutPlan.active.is_(True))
                                   .order_by(RolloutPlan.id)).scalars():
        targets = plan_targets(plan)
        if not any(m.due_on < today for m in plan.milestones) and not any(
                m.due_on < today for w in plan.waves for m in w.milestones):
            continue
        by_officer: dict[int, list[dict]] = defaultdict(list)
        for fig in flatten(department_figures(plan, everyone, today)):
            parent_id = fig.department.parent_id
            passed = [m for m in targets.milestones(fig.department.id) if m.due_on < today]
            if parent_id is None or not passed or fig.completion is None or fig.completion >= passed[-1].target_percent:
                continue
            for officer_id in _officers_above(parent_id):
                by_officer[officer_id].append({"path": paths.get(fig.department.id, fig.department.name),
                                               "completion": fig.completion, "certified": fig.certified,
                                               "eligible": fig.eligible, "milestone": passed[-1]})
        if not by_officer:
            continue
        officers = {u.id: u for u in db.session.execute(select(User).where(User.id.in_(by_officer))).scalars()}
        for officer_id, departments in by_officer.items():
            new += queue(officers[officer_id], "escalation", f"plan{plan.id}:{week}",
                         link=public_url("rollout.dashboard", plan=plan.id), plan=plan,
                         departments=departments, today=today)
    return new


def remind_people(officer: User, plan: RolloutPlan, department_id: int, user_ids: list[int],
                  today: dt.date | None = None) -> dict:
    """An officer's "send a reminder" to chosen people of a department's subtree on the drill-down.

    Only people who are active, in the subtree of ``department_id`` and within ``officer``'s scope
    (both in the query) are reminded; other ids are returned as ``ignored``. Each person is
    reminded at most once per local day (key: the date), whoever sends it. The message lists the
    person's unfinished courses the plan requires (its certification's and its own) with their due dates.
    Returns ``{"sent": [User], "already": [User], "ignored": [int]}``. Flushes; the caller audits and commits.
    """
    today = today or local_today()
    wanted = sorted(set(user_ids))
    people = list(db.session.execute(
        select(User).where(User.id.in_(wanted), User.active.is_(True),
                           User.department_id.in_(select(DepartmentClosure.descendant_id)
                                                  .where(DepartmentClosure.ancestor_id == department_id)),
                           User.department_id.in_(visible_department_ids(officer)))
        .order_by(User.staff_number)).scalars()) if wanted else []
    found = {u.id for u in people}
    courses: dict[int, list[dict]] = defaultdict(list)
    if people:
        required = required_course_ids(plan)
        for user_id, due_on, course in db.session.execute(
                select(Enrolment.user_id, Enrolment.due_on, Course).join(Course, Course.id == Enrolment.course_id)
                .where(Enrolment.user_id.in_(found), Enrolment.completed_at.is_(None),
                       Enrolment.course_id.in_(required)).order_by(Enrolment.due_on, Course.slug)):
            courses[user_id].append({"course": course, "due_on": due_on})
    link = public_url("learning.my_courses")
    out = {"sent": [], "already": [], "ignored": [i for i in wanted if i not in found]}
    for person in people:
        new = queue(person, "manual", today.isoformat(), link=link, sender=officer, plan=plan,
                    courses=courses.get(person.id, []))
        out["sent" if new else "already"].append(person)
    return out


def department_in_scope(officer: User, department_id: int) -> Department | None:
    """The department if it is within ``officer``'s scope (scoped in the query), else None."""
    return db.session.execute(select(Department).where(
        Department.id == department_id, Department.id.in_(visible_department_ids(officer)))).scalar_one_or_none()


def send_emails() -> int:
    """The sender job: mail what is queued and committed (:func:`app.notifications.services.send_pending`).
    Returns the number of e-mails the SMTP server accepted."""
    return send_pending().sent
