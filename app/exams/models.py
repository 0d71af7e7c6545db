"""Exams, blueprint rows, overrides, attempts and attempt items (one per question slot, holding the response)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    Boolean, CheckConstraint, ForeignKey, Index, Integer, JSON, LargeBinary, Numeric, String, Text, UniqueConstraint, and_, or_,
    false as sa_false, true as sa_true,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models import BilingualMixin, TimestampMixin
from app.core.time import utcnow
from app.core.types import UTCDateTime
from app.extensions import db

IN_PROGRESS = "in_progress"
FINISHED = "finished"
#: Submitted, auto items graded, an essay (manual type) waits for a person: no score, no certificate yet.
AWAITING_GRADING = "awaiting_grading"
FREE = "free"
SEQUENTIAL = "sequential"
NAVIGATIONS = (FREE, SEQUENTIAL)
# Review options (Moodle's quiz review options, a matrix): for each thing a finished attempt's review can
# show (REVIEW_SHOW), when it is shown (REVIEW_WHEN). Stored as ``Exam.review_rules`` {what: when}.
REVIEW_IMMEDIATELY = "immediately"
REVIEW_AFTER_CLOSE = "after_close"
REVIEW_NEVER = "never"
REVIEW_WHEN = (REVIEW_IMMEDIATELY, REVIEW_AFTER_CLOSE, REVIEW_NEVER)
REVIEW_SHOW = ("marks", "correctness", "response", "correct_answer", "feedback")
#: The rules of a new exam (and of course.yaml without ``review``): marks right after the attempt, nothing else.
DEFAULT_REVIEW_RULES = {"marks": REVIEW_IMMEDIATELY, "correctness": REVIEW_NEVER, "response": REVIEW_NEVER,
                        "correct_answer": REVIEW_NEVER, "feedback": REVIEW_NEVER}


def default_review_rules() -> dict[str, str]:
    """A fresh copy of :data:`DEFAULT_REVIEW_RULES` (a column default must not share one dict)."""
    return dict(DEFAULT_REVIEW_RULES)


def full_review_rules(rules: dict | None) -> dict[str, str]:
    """``rules`` with every REVIEW_SHOW key, in REVIEW_SHOW order: a missing key or unknown value is ``never``
    (None: the defaults). Never raises; validation of typed input is elsewhere (editor, content sync)."""
    if rules is None:
        return default_review_rules()
    return {what: rules.get(what) if rules.get(what) in REVIEW_WHEN else REVIEW_NEVER for what in REVIEW_SHOW}
# Which grade of several attempts is kept (Moodle's quiz "grading method"); see app.exams.kept.
GRADE_HIGHEST = "highest"
GRADE_METHODS = (GRADE_HIGHEST, "last", "first", "average")
# Who owns an exam's definition: a course.yaml (``content sync``) or the browser editor (/admin/exams/).
MANAGED_BY_FILE = "file"
MANAGED_BY_BROWSER = "browser"


class Exam(BilingualMixin, TimestampMixin, db.Model):
    """A timed exam. Times in seconds; ``pass_mark`` is a percentage 0–100 of the maximum points.

    ``questions_per_page``: 0 shows every question on one page, n > 0 shows n per page.
    ``navigation``: ``free`` (any page, any order) or ``sequential`` (forward only; enforced by
    the server, see :func:`app.exams.services.save_answer`).
    """

    __tablename__ = "exam"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)
    course_id: Mapped[int | None] = mapped_column(ForeignKey("course.id"), index=True)
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    time_limit_seconds: Mapped[int] = mapped_column(Integer)
    opens_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closes_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    attempts_allowed: Mapped[int] = mapped_column(Integer, default=3)
    pass_mark: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=60)
    grace_period_seconds: Mapped[int] = mapped_column(Integer, default=0)
    shuffle_options: Mapped[bool] = mapped_column(Boolean, default=True)
    questions_per_page: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    navigation: Mapped[str] = mapped_column(String(20), default=FREE, server_default=FREE)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # review options (see app.exams.review): {what (REVIEW_SHOW): when (REVIEW_WHEN)}, every what present
    review_rules: Mapped[dict] = mapped_column(JSON, default=default_review_rules)
    # a passed exam may be sat again to improve the grade only when this is set
    allow_retake_after_pass: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # every active lesson of the course must be done before an attempt may start
    require_lessons: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # the form's questions in a random order per attempt (off: blueprint order)
    shuffle_questions: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())
    # which grade of several finished attempts counts: highest | last | first | average (GRADE_METHODS)
    grade_method: Mapped[str] = mapped_column(String(10), default=GRADE_HIGHEST, server_default=GRADE_HIGHEST)
    # "file" (course.yaml, content sync) or "browser" (created in /admin/exams/new); see docs/architecture.md
    managed_by: Mapped[str] = mapped_column(String(10), default=MANAGED_BY_FILE, server_default=MANAGED_BY_FILE)
    # admission (app.exams.admission), set only in the browser: CIDR networks a start must come from
    # (None or []: anywhere) and the argon2id hash of an access code (None: no code)
    allowed_networks: Mapped[list | None] = mapped_column(JSON)
    access_code_hash: Mapped[str | None] = mapped_column(String(255))

    course = relationship("Course")
    blueprint: Mapped[list["BlueprintRow"]] = relationship(
        back_populates="exam", order_by="BlueprintRow.position", cascade="all, delete-orphan"
    )
    sittings: Mapped[list["ExamSitting"]] = relationship(
        back_populates="exam", order_by="ExamSitting.starts_at", cascade="all, delete-orphan"
    )

    @hybrid_property
    def is_open(self) -> bool:
        """True while the window is open (no opens_at/closes_at means unbounded on that side)."""
        now = utcnow()
        return bool(self.active) and (self.opens_at is None or self.opens_at <= now) and (
            self.closes_at is None or now < self.closes_at
        )

    @is_open.inplace.expression
    @classmethod
    def _is_open_expression(cls):
        now = utcnow()
        return and_(
            cls.active.is_(True),
            or_(cls.opens_at.is_(None), cls.opens_at <= now),
            or_(cls.closes_at.is_(None), cls.closes_at > now),
        )

    @property
    def max_points(self) -> Decimal:
        """Total points of the blueprint."""
        return sum((Decimal(row.points) * row.count for row in self.blueprint), Decimal(0))


class BlueprintRow(db.Model):
    """Draw ``count`` questions of a standard item, or of any item of an area (exactly one of the two),
    of a difficulty (None: any), each worth ``points``.

    ``qtype`` names the one question type the row draws (e.g. ``practical``); None draws any type
    that is not ``deferred`` (so rows written before practical tasks existed never draw a task).
    """

    __tablename__ = "blueprint_row"
    __table_args__ = (
        CheckConstraint("(standard_item_id IS NULL) <> (standard_area_id IS NULL)", name="item_or_area"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exam.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    standard_item_id: Mapped[int | None] = mapped_column(ForeignKey("standard_item.id"))
    standard_area_id: Mapped[int | None] = mapped_column(ForeignKey("standard_area.id"))
    difficulty: Mapped[str | None] = mapped_column(String(10))
    qtype: Mapped[str | None] = mapped_column(String(30))
    count: Mapped[int] = mapped_column(Integer)
    points: Mapped[Decimal] = mapped_column(Numeric(6, 2))

    exam: Mapped[Exam] = relationship(back_populates="blueprint")
    standard_item = relationship("StandardItem")
    standard_area = relationship("StandardArea")


class ExamSitting(db.Model):
    """A date/time slot of an exam with a number of seats: an attempt may start in it while
    ``starts_at <= now < ends_at`` (UTC) and a seat is free. ``seats_taken`` counts the seats of
    assigned candidates (:class:`ExamSittingCandidate`, taken when assigned) plus one per start of an
    unassigned candidate; it only changes by conditional UPDATEs (:func:`app.exams.admission.take_seat`,
    :func:`app.exams.admission.assign_candidates`), so it never passes ``capacity`` (also a CHECK
    constraint). The sitting's end also cuts the attempt's deadline. ``name``: the room or place as the
    candidate reads it ('' if none).
    """

    __tablename__ = "exam_sitting"
    __table_args__ = (
        CheckConstraint("seats_taken >= 0 AND seats_taken <= capacity", name="seats_within_capacity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exam.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    capacity: Mapped[int] = mapped_column(Integer)
    seats_taken: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    name: Mapped[str] = mapped_column(String(200), default="", server_default="")

    exam: Mapped[Exam] = relationship(back_populates="sittings")

    @property
    def seats_left(self) -> int:
        """Free seats (never below 0)."""
        return max(0, self.capacity - (self.seats_taken or 0))


class ExamSittingCandidate(db.Model):
    """A person assigned to one sitting of an exam (at most one sitting per exam: the unique
    ``(exam_id, user_id)``). Their seat is taken when assigned; they may start only during this
    sitting (:func:`app.exams.admission.admit`). ``assigned_by_id``: the examiner or admin."""

    __tablename__ = "exam_sitting_candidate"
    __table_args__ = (UniqueConstraint("exam_id", "user_id"),)  # one sitting per person per exam

    id: Mapped[int] = mapped_column(primary_key=True)
    sitting_id: Mapped[int] = mapped_column(ForeignKey("exam_sitting.id", ondelete="CASCADE"), index=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exam.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    assigned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExamOverride(db.Model):
    """An exception to one exam's rules for one person OR one department's subtree (exactly one of
    ``user_id`` / ``department_id``): a time limit (seconds), a later (or earlier) close (UTC), a
    number of attempts allowed. None keeps the exam's value. How several apply: see
    :func:`app.exams.services.candidate_settings`. ``reason`` says why; ``granted_by_id`` who granted it.
    """

    __tablename__ = "exam_override"
    __table_args__ = (
        UniqueConstraint("exam_id", "user_id"),
        UniqueConstraint("exam_id", "department_id"),
        CheckConstraint("(user_id IS NULL) <> (department_id IS NULL)", name="person_or_department"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exam.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="CASCADE"), index=True)
    time_limit_seconds: Mapped[int | None] = mapped_column(Integer)
    closes_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    attempts_allowed: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(500), default="", server_default="")
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    granted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    exam = relationship("Exam")
    user = relationship("User", foreign_keys=[user_id])
    department = relationship("Department")


class ExamOverrideChange(db.Model):
    """One change of an override's ``attempts_allowed`` (created, raised, replaced, removed), so that
    "attempts exhausted" at a past date uses the allowance in force then.

    ``attempts_before`` is the value the override (of ``exam_id`` for ``user_id`` or ``department_id``)
    had just before ``changed_at`` (UTC); None when it did not exist or did not set attempts. The value
    at an instant T is the ``attempts_before`` of the earliest change at or after T, else the
    override's current value (the pattern of :func:`app.rollout.services.department_at`). Written by
    every function of :mod:`app.exams.overrides` that changes attempts; never updated.
    """

    __tablename__ = "exam_override_change"
    __table_args__ = (Index("ix_exam_override_change_lookup", "exam_id", "user_id", "department_id", "changed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exam.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="CASCADE"))
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    attempts_before: Mapped[int | None] = mapped_column(Integer)
    attempts_after: Mapped[int | None] = mapped_column(Integer)


class Accommodation(db.Model):
    """A person's standing accommodation, applied to the time limit of every exam they sit:
    ``time_limit × (1 + extra_percent / 100) + extra_minutes × 60`` seconds. ``extra_percent`` is a
    percentage 0–300 (25 means +25 %); ``extra_minutes`` 0–600. One row per person; ``reason`` is required.
    """

    __tablename__ = "accommodation"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), unique=True)
    extra_percent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    extra_minutes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reason: Mapped[str] = mapped_column(String(500))
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Attempt(db.Model):
    """One sitting of an exam by one candidate.

    ``deadline_at`` (UTC) is fixed by the server at start; ``score`` is a percentage 0–100;
    ``finished_by`` is ``candidate``, ``deadline`` (lazily, on the next request) or ``scheduler``.
    ``furthest_position`` is the first position (1-based) of the furthest page the candidate has
    reached; with sequential navigation only that page may be answered.
    """

    __tablename__ = "attempt"
    __table_args__ = (UniqueConstraint("exam_id", "user_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exam.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20), default=IN_PROGRESS, index=True)
    seed: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    deadline_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    grace_period_seconds: Mapped[int] = mapped_column(Integer, default=0)
    last_saved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_by: Mapped[str | None] = mapped_column(String(20))
    points: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    max_points: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=0)
    score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    passed: Mapped[bool | None] = mapped_column(Boolean)
    furthest_position: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # the sitting whose seat this attempt took (None: the exam has no sittings)
    sitting_id: Mapped[int | None] = mapped_column(ForeignKey("exam_sitting.id", ondelete="SET NULL"), index=True)

    exam: Mapped[Exam] = relationship()
    user = relationship("User")
    items: Mapped[list["AttemptItem"]] = relationship(
        back_populates="attempt", order_by="AttemptItem.position", cascade="all, delete-orphan"
    )

    @hybrid_property
    def is_overdue(self) -> bool:
        """True if still in progress after deadline + grace period."""
        return self.state == IN_PROGRESS and utcnow() > self.deadline_at + dt.timedelta(
            seconds=self.grace_period_seconds or 0
        )

    @is_overdue.inplace.expression
    @classmethod
    def _is_overdue_expression(cls):
        # Grace periods are per attempt; the SQL form compares against the deadline and lets
        # the finaliser re-check grace in Python (grace is 0 unless an exam sets it).
        return and_(cls.state == IN_PROGRESS, cls.deadline_at < utcnow())

    @property
    def remaining_seconds(self) -> int:
        """Whole seconds left until the deadline (0 if passed)."""
        return max(0, int((self.deadline_at - utcnow()).total_seconds()))


class AttemptItem(db.Model):
    """One question slot of an attempt and the candidate's latest response to it.

    ``response`` is the type's JSON (e.g. ``{"choice": "b"}``); ``revision`` is issued by the server:
    0 until the first save, +1 on every stored save. A save names the revision its page last saw and
    is stored only if it still matches (otherwise a conflict), so no page overwrites an answer it has
    not seen. ``flagged`` is the candidate's "flag for review" mark; ``fraction`` is the grade 0–1 and
    ``awarded`` the points given.
    """

    __tablename__ = "attempt_item"
    __table_args__ = (UniqueConstraint("attempt_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    question_version_id: Mapped[int] = mapped_column(ForeignKey("question_version.id"), index=True)
    blueprint_row_id: Mapped[int | None] = mapped_column(ForeignKey("blueprint_row.id", ondelete="SET NULL"))
    standard_item_id: Mapped[int | None] = mapped_column(ForeignKey("standard_item.id"))
    points: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    option_order: Mapped[list] = mapped_column(JSON, default=list)
    response: Mapped[dict | None] = mapped_column(JSON)
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    flagged: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    fraction: Mapped[float | None] = mapped_column(Numeric(6, 5))
    awarded: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    # manual grading (essay): who graded, when (UTC) and the rubric note kept with the mark
    graded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    graded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    grade_note: Mapped[str | None] = mapped_column(Text)

    attempt: Mapped[Attempt] = relationship(back_populates="items")
    question_version = relationship("QuestionVersion")
    standard_item = relationship("StandardItem")
    graded_by = relationship("User", foreign_keys=[graded_by_id])


# Practical-task uploads (issue 9): states of a stored file's check.
UPLOAD_STORED = "stored"      # uploaded while the attempt is open (replaceable until submit)
UPLOAD_PENDING = "pending"    # the attempt was submitted: waits for the checking job
UPLOAD_CHECKING = "checking"  # claimed by a checking job (``claimed_at``); a stale claim is taken again
UPLOAD_GRADED = "graded"      # checked: ``fraction`` and ``result`` hold the per-rule outcome
UPLOAD_FAILED = "failed"      # could not be checked after ``tries`` attempts (time/memory limit, crash): 0 points
UPLOAD_STATES = (UPLOAD_STORED, UPLOAD_PENDING, UPLOAD_CHECKING, UPLOAD_GRADED, UPLOAD_FAILED)


class PracticalUpload(db.Model):
    """The file a candidate uploaded for a practical-task item, kept in the database with the attempt
    (every web node and the grader see the same bytes, backups include it, nothing is written under
    the web root). One row per attempt item: a new upload replaces the bytes while the attempt is open.

    ``size`` in bytes, ``sha256`` hex of ``content``; ``uploaded_at``, ``claimed_at`` and ``graded_at``
    UTC; ``revision`` is the attempt item's revision this upload produced. ``state`` is one of
    ``UPLOAD_STATES``; ``fraction`` 0–1 of the item's points; ``result`` the check's outcome
    ``{"points_awarded", "points_possible", "rules": [{"rule_id", "description_zh", "description_en",
    "points", "awarded", "passed", "detail_zh", "detail_en"}]}``; ``error`` why a check failed.
    ``content`` is loaded only when read (deferred), so listing uploads never pulls the bytes.
    """

    __tablename__ = "practical_upload"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_item_id: Mapped[int] = mapped_column(ForeignKey("attempt_item.id", ondelete="CASCADE"), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    content_type: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revision: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20), default=UPLOAD_STORED, server_default=UPLOAD_STORED, index=True)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    tries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    graded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    fraction: Mapped[float | None] = mapped_column(Numeric(6, 5))
    result: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)

    attempt_item = relationship("AttemptItem")


#: ``PracticalTaskFile.role`` values: the task's task.yaml (rules, points, instructions) and its starter file.
TASK_FILE_YAML = "task"
TASK_FILE_STARTER = "starter"


class PracticalTaskFile(db.Model):
    """A practical task's file as it was when a question version was made: the version's own copy.

    ``content sync`` writes one row per role (``TASK_FILE_YAML``: task.yaml, ``TASK_FILE_STARTER``: the
    starter the candidate downloads) with the version, from the same bytes whose fingerprint is the
    version's ``content_hash``; rows are never changed afterwards. The grader rebuilds the task from the
    task.yaml row and the starter download serves the starter row, so editing or removing a task folder
    never changes how an earlier attempt is graded, and a web node needs no task folder on disk.
    ``name`` is the file's name in the task folder, ``size`` in bytes, ``sha256`` hex of ``content``
    (loaded only when read).
    """

    __tablename__ = "practical_task_file"
    __table_args__ = (UniqueConstraint("question_version_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_version_id: Mapped[int] = mapped_column(ForeignKey("question_version.id", ondelete="CASCADE"),
                                                     index=True)
    role: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
