"""The demo city: departments, staff, demo accounts, rollout plans and months of learning history.

``flask --app app demo`` calls :func:`build_demo` (then commits) and prints :func:`demo_logins`.
The builder is deterministic for a seed (``random.Random(seed)``) except that every date is
relative to today, and certificate verification codes come from the secure generator.

The story it tells: 滨江市 (a fictional city, about 190 units in four levels) runs a city-wide
rollout of the CSDS-SEC certificate (网络安全与保密) that started 170 days ago; a smaller pilot plan
for CSDS-BASIC ran earlier in three pilot bureaus. Bureaus differ in engagement, so the officer
dashboard shows bureaus on track, behind and at risk, and inside each bureau some divisions lag.

Speed: everything bulky (users, lesson progress, attempts, attempt items, enrolment updates,
certificates) is written with bulk INSERT/UPDATE statements, so 2,400 staff take a few seconds.
"""
from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import random
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from flask import current_app
from psycopg import sql as psql
from sqlalchemy import JSON, insert, select, update

from app.auth.models import User
from app.certification.models import Certificate, Certification
from app.certification.services import add_months, new_verification_code, renewal_opens
from app.content.report import ContentError
from app.core.security import hash_password, verify_password
from app.core.time import UTC, local_date_start_utc, local_today, local_zone, utcnow
from app.demo import data
from app.exams.models import FINISHED, Attempt, AttemptItem, Exam
from app.exams.services import (
    CandidateSettings, deadline_for, draw_form, form_items, grade_item, load_pool, score_percent,
)
from app.extensions import db
from app.learning.models import Course, Enrolment, LessonProgress
from app.org.models import Department
from app.org.services import create_department, department_path, grant_officer_scope
from app.questions.models import Question, QuestionVersion
from app.rollout.models import Exemption, Milestone, RolloutPlan
from app.rollout.services import assign_plan

MIN_STAFF = 50
SEC_CODE = "CSDS-SEC"
BASIC_CODE = "CSDS-BASIC"
SEC_COURSE = "security-and-confidentiality"
# Plan windows in days relative to today (milestones straddle today).
SEC_START, SEC_END = -170, 130
SEC_MILESTONES = [(-80, 30), (40, 80), (SEC_END, 100)]
PILOT_START, PILOT_END = -260, 40
PILOT_MILESTONES = [(-170, 25), (-50, 70), (PILOT_END, 100)]
# ``--size large`` (issue 7 item 10): 100,000 staff in 1,000 departments with two years of history.
# The pilot plan then ran from two years ago to one year ago, so the oldest CSDS-SEC certificates
# (valid 24 months) reach their renewal window and expire around today.
LARGE_PILOT_START, LARGE_PILOT_END = -730, -365
LARGE_PILOT_MILESTONES = [(-600, 25), (-480, 70), (LARGE_PILOT_END, 100)]
SIZES = {
    "standard": {"staff": 2400, "departments": None, "pilot": (PILOT_START, PILOT_END, PILOT_MILESTONES)},
    "large": {"staff": 100_000, "departments": 1000,
              "pilot": (LARGE_PILOT_START, LARGE_PILOT_END, LARGE_PILOT_MILESTONES)},
}
"""Demo sizes: default staff, total departments (None: the city table as it is; a number: the table
plus generated sections under the divisions that have none, up to exactly that many units) and the
pilot plan's (start, end, milestones) in days relative to today."""
DIFFICULTY_SHIFT = {"easy": 0.12, "medium": 0.0, "hard": -0.15}


# --- bulk writing ------------------------------------------------------------------------------

def _bulk_insert(model, rows) -> int:
    """Insert ``rows`` (dicts with the same keys, any iterable) into ``model``'s table; returns the count.

    PostgreSQL: one ``COPY … FROM STDIN`` stream on the session's connection (inside its transaction;
    pending ORM changes are flushed first), about ten times faster than executemany for the millions of
    rows of the large demo. JSON columns are written as JSON text (``None`` as JSON ``null``, as
    SQLAlchemy's JSON type stores it); columns missing from the dicts get their Python scalar or
    callable default, else the server default or NULL, as an INSERT would. Other databases:
    ``INSERT`` executemany in chunks of 5,000."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return 0
    if db.session.get_bind().dialect.name != "postgresql":
        rows, count = itertools.chain([first], rows), 0
        while chunk := list(itertools.islice(rows, 5000)):
            db.session.execute(insert(model), chunk)
            count += len(chunk)
        return count
    table = model.__table__
    names = list(first)
    extra: dict[str, object] = {}
    for column in table.columns:
        if column.name in first or column.primary_key or column.default is None:
            continue
        if column.default.is_scalar:
            extra[column.name] = column.default.arg
        elif column.default.is_callable:
            extra[column.name] = column.default.arg(None)
    json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
    columns = names + list(extra)
    encode = [(name in json_columns) for name in columns]
    tail = list(extra.values())
    db.session.flush()
    raw = db.session.connection().connection.driver_connection
    statement = psql.SQL("COPY {} ({}) FROM STDIN").format(
        psql.Identifier(table.name), psql.SQL(", ").join(psql.Identifier(name) for name in columns))
    count = 0
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for row in itertools.chain([first], rows):
            values = [row[name] for name in names] + tail
            copy.write_row([json.dumps(v, ensure_ascii=False) if enc else v for v, enc in zip(values, encode)])
            count += 1
    return count


def _bulk_update(model, rows: list[dict]) -> None:
    """UPDATE ``model``'s rows by ``id`` from ``rows`` (dicts with ``id`` and the same other keys).
    PostgreSQL: COPY into a temporary table, then one ``UPDATE … FROM`` (instead of one statement per
    row); other databases: SQLAlchemy's bulk UPDATE by primary key."""
    if not rows:
        return
    if db.session.get_bind().dialect.name != "postgresql":
        db.session.execute(update(model), rows)
        return
    table = model.__table__.name
    names = [name for name in rows[0] if name != "id"]
    db.session.flush()
    raw = db.session.connection().connection.driver_connection
    columns = psql.SQL(", ").join(psql.Identifier(name) for name in ["id", *names])
    target = psql.Identifier(table)
    with raw.cursor() as cursor:
        cursor.execute(psql.SQL("CREATE TEMPORARY TABLE demo_update AS SELECT {} FROM {} WITH NO DATA")
                       .format(columns, target))
        with cursor.copy(psql.SQL("COPY demo_update ({}) FROM STDIN").format(columns)) as copy:
            for row in rows:
                copy.write_row([row["id"], *(row[name] for name in names)])
        assignments = psql.SQL(", ").join(psql.SQL("{} = demo_update.{}").format(psql.Identifier(name), psql.Identifier(name))
                                          for name in names)
        cursor.execute(psql.SQL("UPDATE {} SET {} FROM demo_update WHERE {}.id = demo_update.id")
                       .format(target, assignments, target))
        cursor.execute("DROP TABLE demo_update")


# --- public API ------------------------------------------------------------------------------

def has_users() -> bool:
    """True if the database holds at least one user (of any kind)."""
    return db.session.execute(select(User.id).limit(1)).first() is not None


def build_demo(staff: int | None = None, seed: int = 20261122, size: str = "standard") -> None:
    """Build the demo city into an empty database. Flushes; the caller commits.

    Args:
        staff: number of users to create (whole number >= 50), the five demo accounts included;
            None: the size's default (2,400 standard, 100,000 large).
        seed: seed of the ``random.Random`` that makes every choice (dates stay relative to today).
        size: ``standard`` (about 190 departments, history since 260 days ago) or ``large``
            (1,000 departments: the standard tree plus generated sections; the pilot plan two years
            ago, so two years of history). See :data:`SIZES`.

    Creates: the course content (``content sync``) if no course exists; 滨江市 with 28 bureaus,
    their divisions and a few sections (about 190 departments, depths 0–3); ``staff`` users sharing
    one argon2id hash of ``demo12345``, a few inactive; the demo accounts admin, examiner, officer, officer2,
    learner, learner2; the CSDS-SEC city-wide plan and the CSDS-BASIC pilot plan (when those
    certifications exist) with exemptions and enrolments; and the history since each plan's start:
    lesson progress, finished exam attempts with graded items, completed enrolments with 学时 and
    certificates.

    Raises ContentError if ``CIVICSKILLS_ENV`` is ``production``, if the database already has users
    or departments, if ``staff`` is too small, or if the content files do not load.
    """
    if os.environ.get("CIVICSKILLS_ENV") == "production":
        raise ContentError(["demo data is never built in a production database"])
    if size not in SIZES:
        raise ContentError([f"demo: size must be one of {', '.join(SIZES)}, not {size!r}"])
    if staff is None:
        staff = SIZES[size]["staff"]
    if not isinstance(staff, int) or staff < MIN_STAFF:
        raise ContentError([f"demo: staff must be a whole number of at least {MIN_STAFF}"])
    if has_users() or db.session.execute(select(Department.id).limit(1)).first() is not None:
        raise ContentError(["demo: the database already has users or departments; "
                            "the demo is only built into an empty database"])
    _ensure_content()
    builder = _Builder(staff=staff, rng=random.Random(seed), size=size)
    builder.run()
    if size == "standard":
        _snapshot_history(DEMO_SNAPSHOT_DAYS)


#: Days of daily snapshots the standard demo rebuilds, so the dashboard's trend chart and forecast
#: (which reads the last 28 days) have history.
DEMO_SNAPSHOT_DAYS = 42


def _snapshot_history(days: int) -> None:
    """Backfill the rollout snapshots of the last ``days`` local days up to yesterday (from the
    demo's events, as ``flask rollout backfill`` does)."""
    from app.rollout.trend import backfill

    db.session.flush()
    yesterday = local_today() - dt.timedelta(days=1)
    backfill(yesterday - dt.timedelta(days=days - 1), yesterday)


def demo_logins() -> list[str]:
    """Printable lines (Chinese and English) naming the demo accounts that exist.

    Each account line gives the staff number (工号), the role and what to look at; the header
    gives the shared password. An account is listed only if it exists and still has the demo
    password; nothing is listed when ``CIVICSKILLS_ENV`` is ``production``. Returns [] if none.
    """
    if os.environ.get("CIVICSKILLS_ENV") == "production":
        return []
    users = {u.staff_number: u for u in db.session.execute(
        select(User).where(User.staff_number.in_(list(data.DEMO_PLACES)))).scalars()}
    lines = []
    for number in data.DEMO_PLACES:
        user = users.get(number)
        if user is None or not verify_password(user.password_hash, data.DEMO_PASSWORD):
            continue
        lines.append(f"  {number:<9} {user.name}  " + _account_role(number, user))
    if not lines:
        return []
    header = [f"演示账号（密码均为 {data.DEMO_PASSWORD}）/ Demo accounts (password for all: {data.DEMO_PASSWORD})",
              "  工号 Staff no.  姓名 Name  角色与看点 Role and what to look at"]
    return header + lines


def _account_role(number: str, user: User) -> str:
    dept_zh = "".join(d.name for d in department_path(user.department)[1:]) if user.department else ""
    scope = user.officer_scopes[0].department if user.officer_scopes else None
    scope_zh, scope_en = (scope.name, scope.name_en or scope.name) if scope else ("", "")
    if number == "admin":
        return ("管理员：轮训计划、课程内容、考试、证书与组织架构 / "
                "administrator: rollout plans, content, exams, certificates and the organisation tree")
    if number == "examiner":
        return ("考务人员：题库、考试设置、人工评分与试题分析 / "
                "examiner: question bank, exam settings, manual grading and item analysis")
    if number == "officer":
        return (f"培训专员（{scope_zh}）：本局进度仪表板、进度落后的处室和未完成人员 / "
                f"training officer ({scope_en}): the bureau's dashboard, lagging divisions, who is behind")
    if number == "officer2":
        return (f"培训专员（{scope_zh}，进度落后于计划）：需要催办的单位 / "
                f"training officer ({scope_en}, behind plan): units to chase")
    if number == "learner":
        return (f"学员（{dept_zh}）：已学完部分课时，继续学习、参加考试、获得证书 / "
                "learner: some lessons done; finish the course, sit the exam, get the certificate")
    return f"新学员（{dept_zh}）：尚未开始学习 / new learner: nothing done yet"


# --- content ---------------------------------------------------------------------------------

def _ensure_content() -> None:
    if db.session.execute(select(Course.id).limit(1)).first() is not None:
        return
    from app.content.services import sync_content

    sync_content(Path(current_app.config["COURSES_DIR"]), Path(current_app.config["QUESTION_BANK_DIR"]))


# --- the builder -----------------------------------------------------------------------------

@dataclass
class _Unit:
    """A department being built: its id, code, kind (city/bureau/division/section), bureau code."""

    id: int
    code: str
    kind: str
    bureau: str | None
    weight: float = 0.0
    engagement: float = 0.0
    headcount: int = 0


@dataclass
class _Person:
    """A staff member before insertion, with the hidden traits that drive the simulation."""

    index: int
    staff_number: str
    name: str
    unit: _Unit
    position: str
    grade: str
    entry_year: int
    active: bool = True
    is_admin: bool = False
    is_examiner: bool = False
    exemption: str | None = None
    engagement: float = 0.5
    ability: float = 0.7
    created_at: dt.datetime | None = None
    deactivated_at: dt.datetime | None = None  # leavers: when they left (UTC)
    last_login_at: dt.datetime | None = None
    user_id: int | None = None


@dataclass
class _CourseInfo:
    id: int
    slug: str
    credit_hours: Decimal
    lessons: list[tuple[int, int]]  # (lesson id, minutes)
    exam: Exam | None


@dataclass
class _AttemptRec:
    person: _Person
    exam: Exam
    number: int
    seed: int
    started_at: dt.datetime
    deadline_at: dt.datetime
    finished_at: dt.datetime
    points: Decimal
    max_points: Decimal
    score: Decimal
    passed: bool
    items: list[dict] = field(default_factory=list)
    id: int | None = None


@dataclass
class _CourseRec:
    """What one person did in one course: start, completion and the attempt that completed it."""

    started_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    attempt: _AttemptRec | None = None


class _Builder:
    def __init__(self, staff: int, rng: random.Random, size: str = "standard"):
        self.staff = staff
        self.rng = rng
        self.department_target = SIZES[size]["departments"]
        self.pilot_start, self.pilot_end, self.pilot_milestones = SIZES[size]["pilot"]
        # Staff numbers are entry year + serial; five serial digits once the city is too big for four.
        self.serial_digits = 4 if staff <= 40_000 else 5
        self.today = local_today()
        self.cutoff = local_date_start_utc(self.today)  # all history ends before today
        self.zone = local_zone()
        self.units: list[_Unit] = []
        self.by_code: dict[str, _Unit] = {}
        self.people: list[_Person] = []
        self.progress: list[dict] = []
        self.attempts: list[_AttemptRec] = []
        self.courses_done: dict[tuple[int, int], _CourseRec] = {}  # (person index, course id)
        self.version_cache: dict[int, tuple[str, dict, str | None]] = {}
        self.draw_state: dict[int, list] = {}  # exam id -> load_pool(exam)

    # -- orchestration

    def run(self) -> None:
        self._departments()
        self._staff()
        self._load_learning()
        self._simulate()
        self._insert_users()
        self._plans()
        self._insert_history()
        db.session.flush()

    # -- departments

    def _generated_sections(self) -> dict[tuple[str, str], list[tuple[str, str, str]]]:
        """For a size with a department target: sections to add under each (bureau, division) that
        has none in the table, spread evenly in table order so the total is exactly the target."""
        if not self.department_target:
            return {}
        bare = [(b[0], d[0]) for b in data.BUREAUS for d in b[5] if len(d) <= 3]
        existing = 1 + sum(1 + len(b[5]) + sum(len(d[3]) for d in b[5] if len(d) > 3) for b in data.BUREAUS)
        need = max(0, self.department_target - existing)
        each, extra = divmod(need, len(bare))
        numerals = "一二三四五六七八九十"
        out = {}
        for i, key in enumerate(bare):
            n = each + (1 if i < extra else 0)
            out[key] = [(f"K{k + 1:02d}", f"第{numerals[k] if k < 10 else k + 1}科", f"Section {k + 1}")
                        for k in range(n)]
        return out

    def _departments(self) -> None:
        generated = self._generated_sections()
        code, name, name_en = data.CITY
        root = create_department(code, name, None, name_en=name_en)
        self._add_unit(root, "city", None)
        for b_order, (b_code, b_name, b_en, size, engagement, divisions) in enumerate(data.BUREAUS):
            bureau = create_department(f"{code}-{b_code}", b_name, root, name_en=b_en, sort_order=b_order)
            leaders = 3 if size < 0.9 else 4 if size < 1.4 else 5
            self._add_unit(bureau, "bureau", b_code, weight=leaders, engagement=engagement)
            for d_order, division in enumerate(divisions):
                d_code, d_name, d_en = division[:3]
                sections = division[3] if len(division) > 3 else generated.get((b_code, d_code), [])
                dept = create_department(f"{bureau.code}-{d_code}", d_name, bureau, name_en=d_en, sort_order=d_order)
                # Divisions lag or lead their bureau a little; the general office is usually keen.
                lean = self.rng.gauss(1.0, 0.09) * (1.05 if d_code == "BGS" else 1.0)
                d_engagement = min(0.99, max(0.1, engagement * lean))
                if sections:
                    weight = self.rng.randint(3, 6) * size
                else:
                    weight = min(30, max(5, self.rng.randint(6, 26) * size))
                self._add_unit(dept, "division", b_code, weight=weight, engagement=d_engagement)
                for s_order, (s_code, s_name, s_en) in enumerate(sections):
                    section = create_department(f"{dept.code}-{s_code}", s_name, dept, name_en=s_en,
                                                sort_order=s_order)
                    s_engagement = min(0.99, max(0.1, d_engagement * self.rng.gauss(1.0, 0.05)))
                    self._add_unit(section, "section", b_code, weight=min(18, self.rng.randint(5, 14) * size),
                                   engagement=s_engagement)

    def _add_unit(self, dept: Department, kind: str, bureau: str | None, weight: float = 0.0,
                  engagement: float = 0.0) -> None:
        unit = _Unit(id=dept.id, code=dept.code, kind=kind, bureau=bureau, weight=weight, engagement=engagement)
        self.units.append(unit)
        self.by_code[unit.code] = unit

    # -- staff

    def _allocate(self) -> None:
        """Share ``staff`` over the units in proportion to their weights (largest remainder)."""
        staffed = [u for u in self.units if u.weight > 0]
        # Every bureau has its head; every unit has someone when there are people enough.
        everyone = self.staff >= 2 * len(staffed)
        base = {u.code: 1 if everyone or u.kind == "bureau" else 0 for u in staffed}
        rest = self.staff - sum(base.values())
        total = sum(u.weight for u in staffed)
        shares = [(u, rest * u.weight / total) for u in staffed]
        for unit, share in shares:
            unit.headcount = base[unit.code] + int(share)
        left = self.staff - sum(u.headcount for u in staffed)
        for unit, _share in sorted(shares, key=lambda s: (-(s[1] - int(s[1])), s[0].code))[:left]:
            unit.headcount += 1
        # The demo accounts need a seat in their units (small builds may leave a unit empty).
        for code, _pos, _grade in data.DEMO_PLACES.values():
            unit = self.by_code[code]
            while unit.headcount < 2:  # the unit's head and the demo account
                donor = max(staffed, key=lambda u: (u.headcount, u.code))
                donor.headcount -= 1
                unit.headcount += 1

    def _staff(self) -> None:
        self._allocate()
        rng = self.rng
        surnames = [s for s, _ in data.SURNAMES]
        cum = list(itertools.accumulate(w for _, w in data.SURNAMES))
        used_numbers: set[str] = set()
        plan_start = local_date_start_utc(self.today + dt.timedelta(days=min(SEC_START, self.pilot_start)))
        top = 10 ** self.serial_digits - 1
        for unit in self.units:
            positions = self._positions(unit)
            for position, grade, lo, hi in positions:
                year = rng.randint(lo, min(hi, self.today.year - 1))
                new_hire = position == "科员" and rng.random() < 0.02
                if new_hire:
                    year = self.today.year
                while True:
                    number = f"{year}{rng.randint(1, top):0{self.serial_digits}d}"
                    if number not in used_numbers:
                        used_numbers.add(number)
                        break
                person = _Person(index=len(self.people), staff_number=number, name=self._name(rng, surnames, cum),
                                 unit=unit, position=position, grade=grade, entry_year=year)
                person.engagement = min(0.99, max(0.05, unit.engagement))
                person.ability = min(0.97, max(0.35, rng.gauss(0.70 + 0.12 * (person.engagement - 0.6), 0.11)))
                if new_hire:
                    person.created_at = local_date_start_utc(self.today - dt.timedelta(days=rng.randint(5, 60)))
                    person.exemption = data.EXEMPTION_REASONS[2]
                else:
                    person.created_at = plan_start - dt.timedelta(days=rng.randint(10, 40))
                self.people.append(person)
        # Leavers and long absences (never the leaders of a unit: they are the first of each list).
        for person in self.people:
            if person.exemption or person.position in ("局长", "处长", "科长"):
                continue
            roll = rng.random()
            if roll < 0.012:
                person.active = False  # left or retired since the plan was assigned
            elif roll < 0.020:
                person.exemption = data.EXEMPTION_REASONS[0]
            elif roll < 0.028:
                person.exemption = data.EXEMPTION_REASONS[1]
        self._demo_accounts()
        self._leaving_dates()

    def _leaving_dates(self) -> None:
        """Give every leaver a ``deactivated_at``: a working-day morning between the city-wide plan's
        start and yesterday, after they joined, so past as-of figures count them until then (issue 8).
        From a generator of its own (seeded by the staff count), so the rest of the city stays as the
        seed made it."""
        rng = random.Random(f"leavers-{self.staff}")
        for person in self.people:
            if person.active:
                continue
            day = self.today + dt.timedelta(days=rng.randint(SEC_START + 1, -1))
            day -= dt.timedelta(days=max(0, day.weekday() - 4))  # a weekend: the Friday before
            moment = self._at(day, rng.randint(9, 16), rng.randint(0, 59))
            person.deactivated_at = max(moment, person.created_at + dt.timedelta(days=1))

    def _positions(self, unit: _Unit) -> list[tuple[str, str, int, int]]:
        n = unit.headcount
        rng = self.rng
        if unit.kind == "bureau":
            out = [data.BUREAU_LEADERS[0]] + [data.BUREAU_LEADERS[1]] * (n - 1)
            return out[:n]
        if unit.kind == "division":
            head = [data.DIVISION_HEAD] + [data.DIVISION_DEPUTY] * (1 if n >= 4 else 0) \
                + [data.DIVISION_DEPUTY] * (1 if n >= 12 else 0)
        elif unit.kind == "section":
            head = [data.SECTION_HEAD] + [data.SECTION_DEPUTY] * (1 if n >= 5 else 0)
        else:
            return []
        ranks = [r for r, _ in data.RANK_AND_FILE]
        weights = [w for _, w in data.RANK_AND_FILE]
        rest = sorted((rng.choices(ranks, weights)[0] for _ in range(max(0, n - len(head)))),
                      key=ranks.index)
        return (head + rest)[:n]

    def _name(self, rng: random.Random, surnames: list[str], cum: list[float]) -> str:
        while True:
            surname = rng.choices(surnames, cum_weights=cum)[0]
            pool = data.GIVEN_MALE if rng.random() < 0.5 else data.GIVEN_FEMALE
            if rng.random() < 0.3:
                given = rng.choice(pool)
            else:
                given = rng.choice(data.GIVEN_FIRST) + rng.choice(pool)
                if given[0] == given[1] and rng.random() < 0.7:
                    continue
            name = surname + given
            if name not in data.FAMOUS:
                return name

    def _demo_accounts(self) -> None:
        taken: set[int] = set()
        for number, (code, position, grade) in data.DEMO_PLACES.items():
            unit = self.by_code[code]
            members = [p for p in self.people if p.unit is unit and p.index not in taken]
            # Not the head of the unit (the first member), unless there is no one else.
            person = members[-1] if len(members) > 1 else members[0]
            taken.add(person.index)
            person.staff_number = number
            person.position, person.grade = position, grade
            person.active, person.exemption = True, None
            person.is_admin = number == "admin"
            person.is_examiner = number == "examiner"
            if number == "learner2":  # joined recently
                person.created_at = local_date_start_utc(self.today - dt.timedelta(days=12))

    # -- learning structure

    def _load_learning(self) -> None:
        self.certs = {c.code: c for c in db.session.execute(
            select(Certification).where(Certification.active.is_(True)).order_by(Certification.id)).scalars()}
        if SEC_CODE not in self.certs:
            raise ContentError([f"demo: certification {SEC_CODE} is missing; run `flask content sync` first"])
        self.cert_courses = {code: {c.id for c in cert.courses} for code, cert in self.certs.items()}
        self.course_info: dict[int, _CourseInfo] = {}
        courses = {c.id: c for cert in self.certs.values() for c in cert.courses}
        for course in sorted(courses.values(), key=lambda c: c.slug):
            lessons = [(lesson.id, lesson.minutes or 30) for lesson in course.active_lessons]
            exam = db.session.execute(select(Exam).where(Exam.course_id == course.id, Exam.active.is_(True))
                                      .order_by(Exam.id)).scalars().first()
            self.course_info[course.id] = _CourseInfo(course.id, course.slug, Decimal(course.credit_hours or 0),
                                                      lessons, exam)
        self.sec_course_ids = sorted(self.cert_courses[SEC_CODE],
                                     key=lambda cid: (self.course_info[cid].slug != SEC_COURSE, self.course_info[cid].slug))
        self.pilot_course_ids: list[int] = []
        if BASIC_CODE in self.certs:
            # The pilot took security first, then the other courses in slug order.
            self.pilot_course_ids = sorted(self.cert_courses[BASIC_CODE],
                                           key=lambda cid: (cid not in self.cert_courses[SEC_CODE],
                                                            self.course_info[cid].slug))

    # -- time helpers

    def _at(self, day: dt.date, hour: int, minute: int) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=self.zone).astimezone(UTC)

    def _local_date(self, moment: dt.datetime) -> dt.date:
        return moment.astimezone(self.zone).date()

    def _workday(self, day: dt.date) -> dt.date:
        """Move most weekend days to a weekday of the next week (people study at work)."""
        if day.weekday() >= 5 and self.rng.random() < 0.9:
            day += dt.timedelta(days=7 - day.weekday() + self.rng.randint(0, 4))
        return day

    def _session_start(self, day: dt.date) -> dt.datetime:
        roll = self.rng.random()
        if roll < 0.8:
            hour = self.rng.choice([9, 9, 10, 10, 11, 14, 15, 15, 16, 16])
        elif roll < 0.9:
            hour = 12
        else:
            hour = self.rng.choice([19, 20, 21])
        return self._at(day, hour, self.rng.randint(0, 59))

    def _later(self, after: dt.datetime, max_gap_days: int, same_sitting: float = 0.4) -> dt.datetime:
        """When the next study session begins after ``after``: same sitting or a later day."""
        if self.rng.random() < same_sitting and after.astimezone(self.zone).hour < 17:
            return after + dt.timedelta(minutes=self.rng.randint(2, 25))
        day = self._local_date(after) + dt.timedelta(days=self.rng.randint(1, max(1, max_gap_days)))
        return self._session_start(self._workday(day))

    # -- simulation

    def _simulate(self) -> None:
        pilots = {self.by_code[f"CITY-{code}"].bureau for code in data.PILOT_BUREAUS}
        for person in self.people:
            if not person.active or person.exemption:
                continue
            if person.staff_number == "learner":
                self._simulate_learner(person)
                continue
            if person.staff_number == "learner2":
                continue
            pilot = person.unit.bureau in pilots and bool(self.pilot_course_ids)
            self._simulate_person(person, pilot)

    def _start_day(self, start_offset: int, span: int, e: float) -> dt.date:
        """The day a person first opens a lesson: keen units start early, reluctant ones late."""
        k = 0.55 + 0.9 * e
        offset = int(span * (self.rng.random() ** k))
        return self._workday(self.today + dt.timedelta(days=start_offset + offset))

    def _simulate_person(self, person: _Person, pilot: bool) -> None:
        rng, e = self.rng, person.engagement
        if rng.random() > min(0.99, 0.2 + 0.85 * e):
            return  # never started
        if pilot:
            course_ids = self.pilot_course_ids
            day = self._start_day(self.pilot_start + 3, min(150, (self.pilot_end - self.pilot_start) // 2), e)
        else:
            course_ids = self.sec_course_ids
            day = self._start_day(SEC_START + 3, -SEC_START - 6, e)
        if day >= self.today:
            return
        quit_course = None
        if rng.random() < 0.3 * (1 - e) + 0.02:
            quit_course = rng.randrange(len(course_ids))
        gap = 2 + int(12 * (1 - e))
        t = self._session_start(day)
        for position, course_id in enumerate(course_ids):
            info = self.course_info[course_id]
            rec = self.courses_done.get((person.index, course_id))
            if rec is not None and rec.completed_at is not None:
                continue
            quit_at = rng.randrange(len(info.lessons) + 1) if quit_course == position else None
            t = self._study(person, info, t, gap, quit_at)
            if t is None:
                break
            t = self._later(t, rng.randint(3, 25), same_sitting=0.0)

    def _study(self, person: _Person, info: _CourseInfo, t: dt.datetime, gap: int,
               quit_at: int | None) -> dt.datetime | None:
        """Lessons then the exam of one course from ``t``. Returns when the course was completed,
        or None if the person stopped (quit at lesson ``quit_at``, ran out of attempts, or
        reached today). ``quit_at == len(lessons)`` means: read every lesson, never sat the exam."""
        rng = self.rng
        rec = self.courses_done.setdefault((person.index, info.id), _CourseRec())
        last = t
        for i, (lesson_id, minutes) in enumerate(info.lessons):
            if i:
                t = self._later(last, gap)
            if t >= self.cutoff:
                return None
            finished = t + dt.timedelta(seconds=int(minutes * 60 * rng.uniform(0.7, 1.5)))
            if quit_at == i or finished >= self.cutoff:
                # Stopped here: usually with the lesson opened but not finished.
                if finished >= self.cutoff or rng.random() < 0.6 or rec.started_at is None:
                    rec.started_at = rec.started_at or t
                    self._progress(person, lesson_id, t, None)
                return None
            rec.started_at = rec.started_at or t
            self._progress(person, lesson_id, t, finished)
            last = finished
        if quit_at is not None and quit_at >= len(info.lessons):
            return None
        if info.exam is None:
            rec.completed_at = last
            return last
        exam = info.exam
        t = self._later(last, 5, same_sitting=0.5)
        limit = dt.timedelta(seconds=exam.time_limit_seconds)
        for number in range(1, exam.attempts_allowed + 1):
            if t + limit >= self.cutoff:
                return None
            attempt = self._attempt(person, exam, number, t, person.ability + 0.08 * (number - 1))
            rec.started_at = rec.started_at or attempt.started_at
            if attempt.passed:
                rec.completed_at = attempt.finished_at
                rec.attempt = attempt
                return attempt.finished_at
            if rng.random() > 0.85:
                return None  # gave up for now
            t = self._session_start(self._workday(
                self._local_date(attempt.finished_at) + dt.timedelta(days=rng.randint(1, 14))))
        return None

    def _simulate_learner(self, person: _Person) -> None:
        """The walk-through learner: three lessons done in the last fortnight, the fourth opened."""
        info = self.course_info[self.sec_course_ids[0]]
        rec = self.courses_done.setdefault((person.index, info.id), _CourseRec())
        day = self.today - dt.timedelta(days=13)
        for i, (lesson_id, minutes) in enumerate(info.lessons[:4]):
            while day.weekday() >= 5:
                day += dt.timedelta(days=1)
            started = self._at(day, 10 if i % 2 == 0 else 15, 5 + 7 * i)
            if started >= self.cutoff:
                break
            rec.started_at = rec.started_at or started
            done = started + dt.timedelta(minutes=minutes + 4) if i < 3 else None
            self._progress(person, lesson_id, started, done)
            day += dt.timedelta(days=3)

    def _progress(self, person: _Person, lesson_id: int, started: dt.datetime, completed: dt.datetime | None) -> None:
        self.progress.append({"user_index": person.index, "lesson_id": lesson_id, "started_at": started,
                              "completed_at": completed})
        last = completed or started
        if person.last_login_at is None or last > person.last_login_at:
            person.last_login_at = last - dt.timedelta(minutes=self.rng.randint(1, 20))

    def _last_progress_time(self, person: _Person) -> dt.datetime:
        return max(r["completed_at"] or r["started_at"] for r in self.progress if r["user_index"] == person.index)

    # -- exam attempts

    def _draw(self, exam: Exam, seed: int) -> list:
        """``draw_form(exam, seed)`` with the exam's pool read once and reused for every attempt."""
        pool = self.draw_state.get(exam.id)
        if pool is None:
            pool = self.draw_state[exam.id] = load_pool(exam)
        return draw_form(exam, seed, pool=pool)

    def _version(self, version_id: int) -> tuple[str, dict, str | None]:
        cached = self.version_cache.get(version_id)
        if cached is None:
            qtype, spec, difficulty = db.session.execute(
                select(QuestionVersion.qtype, QuestionVersion.spec, Question.difficulty)
                .join(Question, Question.id == QuestionVersion.question_id)
                .where(QuestionVersion.id == version_id)).one()
            cached = self.version_cache[version_id] = (qtype, spec, difficulty)
        return cached

    def _attempt(self, person: _Person, exam: Exam, number: int, started: dt.datetime, ability: float) -> _AttemptRec:
        rng = self.rng
        seed = rng.randrange(1, 2**31 - 1)
        form = self._draw(exam, seed)
        deadline = deadline_for(started, CandidateSettings(exam.time_limit_seconds, exam.closes_at, exam.attempts_allowed))
        duration = (deadline - started).total_seconds() * rng.uniform(0.3, 0.9)
        finished = started + dt.timedelta(seconds=int(duration))
        versions = {draw.version_id: self._version(draw.version_id) for draw in form}
        items, total, maximum = form_items(exam, seed, form, versions), Decimal(0), Decimal(0)
        for item, draw in zip(items, form):
            qtype_name, spec, difficulty = versions[draw.version_id]
            p = min(0.99, max(0.05, ability + DIFFICULTY_SHIFT.get(difficulty or draw.row.difficulty or "medium", 0.0)))
            response = self._response(qtype_name, spec, rng.random() < p)
            fraction, awarded = grade_item(qtype_name, spec, response, item["points"])
            answered = None if response is None else \
                started + dt.timedelta(seconds=int(duration * item["position"] / (len(form) + 1)))
            item.update(response=response, revision=0 if response is None else rng.choice([1, 1, 1, 2]),
                        answered_at=answered, fraction=fraction, awarded=awarded)
            total += awarded
            maximum += item["points"]
        score = score_percent(total, maximum)
        attempt = _AttemptRec(person=person, exam=exam, number=number, seed=seed, started_at=started,
                              deadline_at=deadline, finished_at=finished, points=total, max_points=maximum,
                              score=score, passed=score >= Decimal(exam.pass_mark), items=items)
        self.attempts.append(attempt)
        if person.last_login_at is None or finished > person.last_login_at:
            person.last_login_at = started - dt.timedelta(minutes=rng.randint(1, 10))
        return attempt

    def _response(self, qtype: str, spec: dict, correct: bool) -> dict | None:
        """A stored response that grades as intended: fully right, or wrong/partly right/blank."""
        rng = self.rng
        if not correct and rng.random() < 0.02:
            return None  # left blank
        if qtype == "true_false":
            answer = bool(spec["answer"])
            return {"answer": answer if correct else not answer}
        options = spec["options"]
        if qtype == "single_choice":
            right = [o["id"] for o in options if float(o["fraction"]) >= 1.0]
            wrong = [o["id"] for o in options if float(o["fraction"]) < 1.0]
            return {"choice": rng.choice(right if correct or not wrong else wrong)}
        # multiple_choice
        right = sorted(o["id"] for o in options if float(o["fraction"]) > 0)
        wrong = sorted(o["id"] for o in options if float(o["fraction"]) <= 0)
        if correct or not (wrong or len(right) > 1):
            return {"choices": right}
        if len(right) > 1 and (not wrong or rng.random() < 0.5):
            return {"choices": sorted(rng.sample(right, rng.randint(1, len(right) - 1)))}  # part credit
        picked = rng.sample(right, rng.randint(0, len(right))) + [rng.choice(wrong)]
        return {"choices": sorted(set(picked))}

    # -- writing

    def _insert_users(self) -> None:
        password_hash = hash_password(data.DEMO_PASSWORD)  # once: argon2id is slow on purpose
        rows = []
        for p in self.people:
            rows.append({
                "staff_number": p.staff_number, "name": p.name, "department_id": p.unit.id,
                "position": p.position, "grade": p.grade, "email": None, "password_hash": password_hash,
                "active": p.active, "is_admin": p.is_admin, "is_examiner": p.is_examiner, "locale": None, "failed_logins": 0,
                "locked_until": None, "last_login_at": p.last_login_at, "deactivated_at": p.deactivated_at,
                "created_at": p.created_at, "updated_at": p.deactivated_at or p.created_at,
            })
        _bulk_insert(User, rows)
        ids = dict(db.session.execute(select(User.staff_number, User.id)).all())
        for p in self.people:
            p.user_id = ids[p.staff_number]
        for number, code in data.OFFICER_SCOPES.items():
            user = db.session.execute(select(User).where(User.staff_number == number)).scalar_one()
            grant_officer_scope(user, db.session.get(Department, self.by_code[code].id))

    def _plans(self) -> None:
        root = db.session.get(Department, self.by_code[data.CITY[0]].id)
        started = utcnow()
        plans = []
        if self.pilot_course_ids:
            year = (self.today + dt.timedelta(days=self.pilot_start)).year
            pilot = self._plan(
                f"{year}年数字技能提升试点培训（试点单位）", f"{year} Digital Skills Pilot Training (pilot units)",
                self.certs[BASIC_CODE], self.pilot_start, self.pilot_end, self.pilot_milestones,
                [db.session.get(Department, self.by_code[f"CITY-{c}"].id) for c in data.PILOT_BUREAUS])
            plans.append(pilot)
        sec = self._plan("2026年全市公务员数字技能全员轮训", "2026 City-wide Civil-Servant Digital Skills Rollout",
                         self.certs[SEC_CODE], SEC_START, SEC_END, SEC_MILESTONES, [root])
        plans.append(sec)
        pilot_units = {self.by_code[f"CITY-{c}"].bureau for c in data.PILOT_BUREAUS}
        for plan in plans:
            rows = [{"plan_id": plan.id, "user_id": p.user_id, "reason": p.exemption,
                     "created_at": local_date_start_utc(plan.starts_on) + dt.timedelta(days=self.rng.randint(0, 20))
                     if p.exemption != data.EXEMPTION_REASONS[2] else p.created_at}
                    for p in self.people
                    if p.exemption and p.active and (plan is sec or p.unit.bureau in pilot_units)]
            if rows:
                db.session.execute(insert(Exemption), rows)
            assign_plan(plan)  # pilot first: its earlier due date wins on the shared course
            # The enrolments were made when the plan started, not now.
            db.session.execute(
                update(Enrolment)
                .where(Enrolment.source == "plan", Enrolment.created_at >= started)
                .values(created_at=local_date_start_utc(plan.starts_on), updated_at=local_date_start_utc(plan.starts_on))
                .execution_options(synchronize_session=False))

    def _plan(self, name_zh: str, name_en: str, cert: Certification, start: int, end: int,
              milestones: list[tuple[int, int]], audience: list[Department]) -> RolloutPlan:
        day = lambda offset: self.today + dt.timedelta(days=offset)  # noqa: E731
        plan = RolloutPlan(name_zh=name_zh, name_en=name_en, certification=cert, starts_on=day(start),
                           ends_on=day(end), active=True, audience=audience,
                           milestones=[Milestone(due_on=day(o), target_percent=Decimal(t)) for o, t in milestones])
        db.session.add(plan)
        db.session.flush()
        return plan

    def _insert_history(self) -> None:
        by_index = {p.index: p for p in self.people}
        if self.progress:
            _bulk_insert(LessonProgress, (
                {"user_id": by_index[r["user_index"]].user_id, "lesson_id": r["lesson_id"],
                 "started_at": r["started_at"], "completed_at": r["completed_at"]} for r in self.progress))
        if self.attempts:
            _bulk_insert(Attempt, (
                {"exam_id": a.exam.id, "user_id": a.person.user_id, "number": a.number, "state": FINISHED,
                 "seed": a.seed, "started_at": a.started_at, "deadline_at": a.deadline_at,
                 "grace_period_seconds": a.exam.grace_period_seconds or 0,
                 "last_saved_at": max((i["answered_at"] for i in a.items if i["answered_at"]), default=None),
                 "finished_at": a.finished_at, "finished_by": "candidate", "points": a.points,
                 "max_points": a.max_points, "score": a.score, "passed": a.passed} for a in self.attempts))
            ids = {(exam_id, user_id, number): attempt_id for attempt_id, exam_id, user_id, number in
                   db.session.execute(select(Attempt.id, Attempt.exam_id, Attempt.user_id, Attempt.number))}
            for a in self.attempts:
                a.id = ids[(a.exam.id, a.person.user_id, a.number)]
            _bulk_insert(AttemptItem, (dict(item, attempt_id=a.id) for a in self.attempts for item in a.items))
        self._enrolments_and_certificates(by_index)

    def _enrolments_and_certificates(self, by_index: dict[int, _Person]) -> None:
        enrolments = {(user_id, course_id): enrolment_id for enrolment_id, user_id, course_id in
                      db.session.execute(select(Enrolment.id, Enrolment.user_id, Enrolment.course_id))}
        updates, new = [], []
        for (index, course_id), rec in sorted(self.courses_done.items()):
            if rec.started_at is None:
                continue
            person = by_index[index]
            values = {"started_at": rec.started_at, "completed_at": rec.completed_at,
                      "credit_hours_awarded": self.course_info[course_id].credit_hours if rec.completed_at else None,
                      "updated_at": rec.completed_at or rec.started_at}
            enrolment_id = enrolments.get((person.user_id, course_id))
            if enrolment_id is None:
                new.append(dict(values, user_id=person.user_id, course_id=course_id, source="self", due_on=None,
                                created_at=rec.started_at))
            else:
                updates.append(dict(values, id=enrolment_id))
        _bulk_update(Enrolment, updates)
        _bulk_insert(Enrolment, new)

        # Certificates: as issue_due_certificates would have issued them, at each completion.
        certificates = []
        per_person: dict[int, list[tuple[dt.datetime, int, _CourseRec]]] = {}
        for (index, course_id), rec in self.courses_done.items():
            if rec.completed_at is not None:
                per_person.setdefault(index, []).append((rec.completed_at, course_id, rec))
        codes: set[str] = set()
        for index in sorted(per_person):
            person = by_index[index]
            done: set[int] = set()
            held: set[str] = set()
            for completed_at, course_id, rec in sorted(per_person[index], key=lambda r: (r[0], r[1])):
                done.add(course_id)
                for code, cert in self.certs.items():
                    if code in held or not self.cert_courses[code] or not self.cert_courses[code] <= done:
                        continue
                    held.add(code)
                    verification = new_verification_code()
                    while verification in codes:
                        verification = new_verification_code()
                    codes.add(verification)
                    expires_at = add_months(completed_at, cert.validity_months) if cert.validity_months else None
                    certificates.append({
                        "certification_id": cert.id, "user_id": person.user_id,
                        "serial": f"PENDING-{person.user_id}-{cert.id}", "verification_code": verification,
                        "issued_at": completed_at,
                        "expires_at": expires_at,
                        "renewal_opens_at": renewal_opens(expires_at, cert.recertification_window_days),
                        "renewal_assigned_at": None, "revoked_at": None, "revoked_reason": None, "revoked_by_id": None,
                        "attempt_id": rec.attempt.id if rec.attempt is not None else None,
                    })
        if not certificates:
            return
        _bulk_insert(Certificate, certificates)
        code_of = {cert.id: code for code, cert in self.certs.items()}
        rows = db.session.execute(select(Certificate.id, Certificate.certification_id, Certificate.issued_at)
                                  .where(Certificate.serial.like("PENDING-%"))).all()
        db.session.execute(update(Certificate), [
            {"id": cid, "serial": f"{code_of[cert_id]}-{issued.astimezone(self.zone).year}-{cid:06d}"}
            for cid, cert_id, issued in rows])
