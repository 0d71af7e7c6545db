"""Skills map (技能短板图): per department and standard item, the share of exam points earned.

Definition (shown beside the map): for a department (its whole subtree) and a standard item, the points
earned on that item's questions ÷ the points those questions were worth (× 100, percent 0–100), over
each eligible person's best finished attempt at each of the plan's exams (highest score; on a tie the
earlier one), as of the end of the chosen local day: attempts finished later, and people not eligible
then, do not count. "People" is the number of people whose best attempt had questions on the item.
A cell with fewer than :data:`MIN_PEOPLE` people is hidden (no singling out), in the page and the exports.
A person's own map (on their record) is the same over their best attempt(s), without the threshold.

All of it is SQL aggregation: best attempts by ``row_number()`` over (person, exam), joined to their
attempt items, summed per person × item, then per department × item (people = persons counted), then
over the closure table by ancestor department × item; officers' queries are restricted to their
departments in the query.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import distinct, func, select

from app.auth.models import User
from app.core.time import local_date_end_utc
from app.exams.models import FINISHED, Attempt, AttemptItem, Exam
from app.extensions import db
from app.learning.models import Course, Lesson, course_item
from app.org.models import Department, DepartmentClosure
from app.org.services import visible_department_ids
from app.rollout.models import RolloutPlan, SkillsSnapshot
from app.rollout.services import department_at, eligible_conditions, fresh_person_snapshot, required_course_ids
from app.standards.models import StandardArea, StandardItem

MIN_PEOPLE = 5
LESSONS_PER_ITEM = 4


@dataclass(frozen=True)
class SkillCell:
    """Points ``earned`` of ``possible`` (Decimal) on one item by ``people`` people."""

    earned: Decimal
    possible: Decimal
    people: int
    threshold: int = MIN_PEOPLE

    @property
    def hidden(self) -> bool:
        """True when fewer than ``threshold`` people contribute (the share is not shown)."""
        return self.people < self.threshold

    @property
    def share(self) -> Decimal | None:
        """Earned ÷ possible × 100 (percent 0–100, 1 decimal); None when hidden or nothing was possible."""
        if self.hidden or not self.possible:
            return None
        return (self.earned * 100 / self.possible).quantize(Decimal("0.1"), ROUND_HALF_UP)

    @property
    def band(self) -> str:
        """CSS band of the share: ``low`` < 50, ``mid`` < 70, ``ok`` < 85, ``good`` ≥ 85, ``hidden``."""
        share = self.share
        if share is None:
            return "hidden"
        return "low" if share < 50 else "mid" if share < 70 else "ok" if share < 85 else "good"


@dataclass
class SkillsRow:
    """One department: ``people`` with a best attempt in its subtree, ``cells`` by standard item id."""

    department: Department
    people: int
    cells: dict[int, SkillCell]
    level: int = 0


@dataclass
class SkillsMap:
    """Rows of departments × ``items`` (standard items in the standard's order); ``lessons`` by item id:
    ``[(course, [lessons])]`` of the active courses that teach the item (course.yaml ``items``)."""

    items: list[StandardItem]
    rows: list[SkillsRow]
    lessons: dict[int, list] = field(default_factory=dict)
    taken_at: dt.datetime | None = None  # UTC time of today's snapshot the map comes from; None: counted now


def best_attempts(plan: RolloutPlan, as_of: dt.date, *, viewer: User | None = None, user_id: int | None = None):
    """Subquery ``best(attempt_id, user_id, department_id)``: each eligible person's best finished attempt
    at each of the plan's exams as of the end of local date ``as_of`` (highest score, then earliest
    finish, then lowest id). Restricted to ``viewer``'s departments (officers) and/or one ``user_id``.
    ``department_id`` is the department held at the end of ``as_of`` (transfer history:
    :func:`app.rollout.services.department_at`), which the officer's scope is tested on too."""
    as_of_end = local_date_end_utc(as_of)
    exams = select(Exam.id).where(Exam.course_id.in_(required_course_ids(plan)))
    rank = func.row_number().over(partition_by=(Attempt.user_id, Attempt.exam_id),
                                  order_by=(Attempt.score.desc(), Attempt.finished_at, Attempt.id))
    query = (select(Attempt.id.label("attempt_id"), Attempt.user_id.label("user_id"),
                    department_at(as_of_end).label("department_id"), rank.label("rank"))
             .join(User, User.id == Attempt.user_id)
             .where(Attempt.exam_id.in_(exams), Attempt.state == FINISHED, Attempt.finished_at < as_of_end,
                    Attempt.score.is_not(None), *eligible_conditions(plan, as_of_end)))
    if viewer is not None and not viewer.is_admin:
        query = query.where(department_at(as_of_end).in_(visible_department_ids(viewer)))
    if user_id is not None:
        query = query.where(Attempt.user_id == user_id)
    ranked = query.subquery("ranked")
    return (select(ranked.c.attempt_id, ranked.c.user_id, ranked.c.department_id)
            .where(ranked.c.rank == 1).subquery("best"))


def _items(item_ids) -> list[StandardItem]:
    if not item_ids:
        return []
    return list(db.session.execute(
        select(StandardItem).join(StandardArea, StandardArea.id == StandardItem.area_id)
        .where(StandardItem.id.in_(list(item_ids)))
        .order_by(StandardArea.position, StandardItem.position, StandardItem.code)).scalars())


def item_lessons(item_ids) -> dict[int, list]:
    """``{item id: [(course, [lesson, …])]}``: active lessons tagged with the item (at most
    :data:`LESSONS_PER_ITEM` per course) of the active courses whose ``items`` include the item, as the
    result page suggests them; an untagged lesson counts as teaching every item of its course
    (:meth:`app.learning.models.Lesson.teaches`)."""
    if not item_ids:
        return {}
    rows = db.session.execute(
        select(course_item.c.standard_item_id, StandardItem.code, Course, Lesson)
        .join(StandardItem, StandardItem.id == course_item.c.standard_item_id)
        .join(Course, Course.id == course_item.c.course_id).join(Lesson, Lesson.course_id == Course.id)
        .where(course_item.c.standard_item_id.in_(list(item_ids)), Course.active.is_(True), Lesson.active.is_(True))
        .order_by(course_item.c.standard_item_id, Course.id, Lesson.position)).all()
    out: dict[int, list] = defaultdict(list)
    for item_id, code, course, lesson in rows:
        if not lesson.teaches(code):
            continue
        entries = out[item_id]
        if not entries or entries[-1][0].id != course.id:
            entries.append((course, []))
        if len(entries[-1][1]) < LESSONS_PER_ITEM:
            entries[-1][1].append(lesson)
    return dict(out)


def skills_figures(plan: RolloutPlan, as_of: dt.date, viewer: User | None = None,
                   department_ids: list[int] | None = None) -> tuple[list[tuple], dict[int, int]]:
    """The skills map's aggregation as of the end of local date ``as_of``: ``(cells, people)`` with
    cells ``(department id, item id, earned, possible, people)`` and people ``{department id: people
    with a best attempt in its subtree}``, for the departments ``viewer`` may see (None: every
    department, as the snapshot job counts) or those of ``department_ids`` among them."""
    best = best_attempts(plan, as_of, viewer=viewer)
    scope = [] if viewer is None else [DepartmentClosure.ancestor_id.in_(visible_department_ids(viewer))]
    if department_ids is not None:
        scope.append(DepartmentClosure.ancestor_id.in_(department_ids))
    # Summed by each person's own department first, then over the closure table: every person belongs
    # to one department (the one held then), so the people of different departments are disjoint and
    # a subtree's people are the sum of its departments' (no DISTINCT over the 2.6 million rows of
    # attempt items × ancestors the whole city gave at 100,000 staff: 3.1 s, sorted on disk).
    per_person = (select(best.c.user_id, best.c.department_id, AttemptItem.standard_item_id.label("item_id"),
                         func.sum(func.coalesce(AttemptItem.awarded, 0)).label("earned"),
                         func.sum(AttemptItem.points).label("possible"))
                  .select_from(best).join(AttemptItem, AttemptItem.attempt_id == best.c.attempt_id)
                  .where(AttemptItem.standard_item_id.is_not(None))
                  .group_by(best.c.user_id, best.c.department_id, AttemptItem.standard_item_id).subquery("per_person"))
    per_department = (select(per_person.c.department_id, per_person.c.item_id,
                             func.sum(per_person.c.earned).label("earned"),
                             func.sum(per_person.c.possible).label("possible"), func.count().label("people"))
                      .group_by(per_person.c.department_id, per_person.c.item_id).subquery("per_department"))
    cells = db.session.execute(
        select(DepartmentClosure.ancestor_id, per_department.c.item_id, func.sum(per_department.c.earned),
               func.sum(per_department.c.possible), func.sum(per_department.c.people))
        .select_from(per_department)
        .join(DepartmentClosure, DepartmentClosure.descendant_id == per_department.c.department_id)
        .where(*scope).group_by(DepartmentClosure.ancestor_id, per_department.c.item_id)).all()
    department_people = (select(best.c.department_id, func.count(distinct(best.c.user_id)).label("people"))
                         .group_by(best.c.department_id).subquery("department_people"))
    people = {dept_id: int(n) for dept_id, n in db.session.execute(
        select(DepartmentClosure.ancestor_id, func.sum(department_people.c.people))
        .select_from(department_people)
        .join(DepartmentClosure, DepartmentClosure.descendant_id == department_people.c.department_id)
        .where(*scope).group_by(DepartmentClosure.ancestor_id)).all()}
    return [tuple(c) for c in cells], people


def stored_skills(plan: RolloutPlan, as_of: dt.date, department_ids: list[int] | None = None
                  ) -> tuple[list[tuple], dict[int, int], dt.datetime] | None:
    """:func:`skills_figures` for every department (or those of ``department_ids``) from today's skills
    snapshot (:func:`app.rollout.trend.take_skills`) with its ``taken_at``, or None when there is no
    fresh one for ``as_of`` (:func:`app.rollout.services.fresh_person_snapshot`: the same job writes
    both with one ``taken_at``) or it holds no rows. Two queries."""
    taken_at = fresh_person_snapshot(plan, as_of)
    if taken_at is None:
        return None
    s = SkillsSnapshot
    where = [s.plan_id == plan.id, s.taken_at == taken_at]
    if department_ids is not None:
        where.append(s.department_id.in_(department_ids))
    rows = db.session.execute(select(s.department_id, s.item_id, s.earned, s.possible, s.people).where(*where)).all()
    if not rows:
        written = db.session.execute(select(s.id).where(s.plan_id == plan.id, s.taken_at == taken_at).limit(1)).first()
        if written is None:
            return None
    cells = [(d, i, e, p, n) for d, i, e, p, n in rows if i is not None]
    people = {d: n for d, i, _, _, n in rows if i is None}
    return cells, people, taken_at


def skills_map(plan: RolloutPlan, viewer: User, as_of: dt.date, department_ids: list[int] | None = None,
               threshold: int = MIN_PEOPLE, *, served: bool = False) -> SkillsMap:
    """The skills map as of the end of local date ``as_of`` for the departments ``viewer`` may see
    (all of them, or those of ``department_ids`` among them), rows in tree order (parents first).
    Departments without anyone's best attempt have no row. With ``served`` an administrator's map of
    today comes from today's skills snapshot while it is fresh (:func:`stored_skills`; the map says
    ``taken_at``), else it is counted now (:func:`skills_figures`)."""
    stored = stored_skills(plan, as_of, department_ids) if served and viewer.is_admin else None
    if stored is not None:
        cells, people, taken_at = stored
    else:
        (cells, people), taken_at = skills_figures(plan, as_of, viewer, department_ids), None
    by_dept: dict[int, dict[int, SkillCell]] = defaultdict(dict)
    for dept_id, item_id, earned, possible, n in cells:
        by_dept[dept_id][item_id] = SkillCell(Decimal(earned or 0), Decimal(possible or 0), int(n), threshold)
    departments = {d.id: d for d in db.session.execute(
        select(Department).where(Department.id.in_(list(people)))).scalars()} if people else {}
    ordered = sorted(departments.values(), key=lambda d: (d.depth, d.sort_order, d.code))
    rows: list[SkillsRow] = []
    placed: dict[int, SkillsRow] = {}
    children: dict[int, list[SkillsRow]] = defaultdict(list)
    roots = []
    for dept in ordered:
        row = SkillsRow(dept, int(people[dept.id]), by_dept.get(dept.id, {}))
        placed[dept.id] = row
        if dept.parent_id in placed:
            row.level = placed[dept.parent_id].level + 1
            children[dept.parent_id].append(row)
        else:
            roots.append(row)
    stack = list(reversed(roots))
    while stack:
        row = stack.pop()
        rows.append(row)
        stack.extend(reversed(children[row.department.id]))
    item_ids = {item_id for cells_of in by_dept.values() for item_id in cells_of}
    return SkillsMap(items=_items(item_ids), rows=rows, lessons=item_lessons(item_ids), taken_at=taken_at)


def person_skills(plan: RolloutPlan, viewer: User, user_id: int, as_of: dt.date) -> SkillsMap:
    """One person's map over their own best attempt(s) as of ``as_of`` (no people threshold): a single
    row with the person's department, or no rows. Scoped like :func:`skills_map`."""
    best = best_attempts(plan, as_of, viewer=viewer, user_id=user_id)
    cells = db.session.execute(
        select(best.c.department_id, AttemptItem.standard_item_id, func.sum(func.coalesce(AttemptItem.awarded, 0)),
               func.sum(AttemptItem.points))
        .select_from(best).join(AttemptItem, AttemptItem.attempt_id == best.c.attempt_id)
        .where(AttemptItem.standard_item_id.is_not(None))
        .group_by(best.c.department_id, AttemptItem.standard_item_id)).all()
    if not cells:
        return SkillsMap(items=[], rows=[])
    department = db.session.get(Department, cells[0][0])
    by_item = {item_id: SkillCell(Decimal(earned or 0), Decimal(possible or 0), 1, threshold=1)
               for _, item_id, earned, possible in cells}
    return SkillsMap(items=_items(by_item), rows=[SkillsRow(department, 1, by_item)], lessons=item_lessons(by_item))
