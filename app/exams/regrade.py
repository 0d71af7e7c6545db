"""Regrade an exam after a key fix: dry run (a report, nothing written) or commit.

Which key grades an old attempt: **the question's current version** ("regrade to the latest
version", as Moodle's quiz offers). Question versions here are immutable: content sync, imports
and the bank editor never change a version in place, they add version N+1 and make it current.
So a key fix always arrives as a new version, and "regrade against the attempt's own version"
would change nothing. The attempt keeps pointing at the version it showed (the review still shows
what the candidate saw); only the item's ``fraction`` and ``awarded`` are recomputed with the new
version's key. This is done only where the new version is *compatible*: the same type, the same
options the candidate saw (ids and texts, in the attempt's order; the stem may differ, e.g. a typo
fix) and the stored response still valid under the new spec. Incompatible items and items graded
by a person (manual types) are left alone and listed as skipped with the reason.

Consequences, through the normal paths: an attempt that now passes goes through
:func:`app.learning.services.check_course_completion` (as :func:`app.exams.services.grade_attempt`
does), which completes the course and issues any certificate now due. A candidate who no longer has
any passed attempt at the course's exams has the course completion undone (``completed_at`` and
the credited 学时 cleared) and every valid certificate of a certification containing that course
revoked with the reason ``regrade: …``.

Writes are conditional UPDATEs on the values read (an item's old fraction and points, an attempt's
old points, a certificate still unrevoked), so a concurrent regrade cannot apply twice: if any
row moved underneath, :class:`RegradeConflict` is raised and nothing is kept. Running the same
regrade again finds nothing to change (idempotent). The dry run executes exactly the same code
inside a SAVEPOINT and rolls it back, so its report is what a commit would do at that moment
(on PostgreSQL the rolled-back certificate inserts still consume sequence numbers; no row stays).
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from app.audit.services import record
from app.auth.models import User
from app.certification.models import Certificate, certification_course
from app.core.errors import DomainError
from app.core.models import current_language
from app.core.time import utcnow
from app.exams.kept import method_of
from app.exams.models import FINISHED, Attempt, AttemptItem, Exam
from app.exams.services import grade_item, has_passed_course_exam, score_percent
from app.extensions import db
from app.learning.models import Enrolment
from app.learning.services import check_course_completion
from app.questions.models import Question, QuestionVersion
from app.questions.types import REGISTRY, ResponseError


class RegradeConflict(DomainError):
    """Some row changed between reading and writing (a concurrent regrade or grading): nothing was
    kept; run the regrade again. HTTP 409, code ``regrade_conflict``."""

    def __init__(self):
        super().__init__(_("The results changed while regrading (another regrade ran at the same time). "
                           "Nothing was changed; please run the regrade again."), code="regrade_conflict", status=409)


@dataclass
class QuestionPlan:
    """A question chosen for regrade: its id, key, and the version number that now grades it (current)."""

    question_id: int
    key: str
    name: str
    current_version: int
    attempts: int = 0


@dataclass
class Skipped:
    """An attempt item left as it was: question id, attempt id, shown and current version numbers, reason."""

    question_id: int
    attempt_id: int
    shown_version: int
    current_version: int
    reason: str


@dataclass
class CertificateNote:
    """A certificate issued or revoked by a regrade: certification titles and the serial."""

    title_zh: str
    title_en: str
    serial: str

    @property
    def title(self) -> str:
        """The certification title in the request's language."""
        return self.title_en if current_language() == "en" else self.title_zh


@dataclass
class AttemptChange:
    """One attempt whose points changed. Scores are percent 0–100; points as stored (2 places).

    ``certificates_issued`` / ``certificates_revoked``: :class:`CertificateNote` of certificates issued or revoked for this candidate because of this attempt's change.
    """

    attempt_id: int
    attempt_number: int
    user_id: int
    staff_number: str
    name: str
    department: str
    old_points: Decimal
    new_points: Decimal
    old_score: Decimal
    new_score: Decimal
    old_passed: bool
    new_passed: bool
    items_changed: int = 0
    certificates_issued: list[CertificateNote] = field(default_factory=list)
    certificates_revoked: list[CertificateNote] = field(default_factory=list)

    @property
    def pass_changed(self) -> bool:
        """True if pass/fail flipped."""
        return self.old_passed != self.new_passed


@dataclass
class RegradeReport:
    """Outcome of :func:`regrade_exam`: plain values only (safe to use after the dry run's rollback)."""

    exam_code: str
    dry_run: bool
    questions: list[QuestionPlan]
    attempts_checked: int = 0
    items_changed: int = 0
    changes: list[AttemptChange] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def newly_passed(self) -> list[AttemptChange]:
        """Changes that turned a fail into a pass."""
        return [c for c in self.changes if c.new_passed and not c.old_passed]

    @property
    def newly_failed(self) -> list[AttemptChange]:
        """Changes that turned a pass into a fail."""
        return [c for c in self.changes if c.old_passed and not c.new_passed]

    def lines(self) -> list[str]:
        """The report as plain-text lines for the command line (English, one change per line)."""
        out = [f"exam {self.exam_code}: {'DRY RUN, nothing written' if self.dry_run else 'regrade committed'}",
               "questions: " + (", ".join(f"{q.question_id} ({q.key}) -> version {q.current_version}, "
                                          f"{q.attempts} attempt(s)" for q in self.questions) or "none changed"),
               f"attempts checked: {self.attempts_checked}; items regraded: {self.items_changed}; "
               f"attempts changed: {len(self.changes)}"]
        for c in self.changes:
            line = (f"  {c.staff_number} {c.name} [{c.department}] attempt {c.attempt_number}: "
                    f"{c.old_score} -> {c.new_score} ({'pass' if c.old_passed else 'fail'} -> "
                    f"{'pass' if c.new_passed else 'fail'})")
            for cert in c.certificates_issued:
                line += f"; certificate issued: {cert.title_en} {cert.serial}"
            for cert in c.certificates_revoked:
                line += f"; certificate revoked: {cert.title_en} {cert.serial}"
            out.append(line)
        for s in self.skipped:
            out.append(f"  skipped: question {s.question_id}, attempt {s.attempt_id} "
                       f"(version {s.shown_version} -> {s.current_version}): {s.reason}")
        return out


def _candidate_view(version: QuestionVersion, order: list[str]) -> tuple:
    """What a candidate saw of a version's options for an attempt's option order (type, options)."""
    rendered = REGISTRY[version.qtype].render_for_candidate("", version.stem_format, version.spec, order)
    return version.qtype, rendered.get("multiple"), rendered.get("options")


def incompatibility(shown: QuestionVersion, target: QuestionVersion, order: list[str], response) -> str | None:
    """Why ``target``'s key may not grade a response given to ``shown`` (None if it may).

    Compatible: same type, not manually graded, the same options as the candidate saw them (ids and
    texts in ``order``), and the stored ``response`` valid under ``target``'s spec.
    """
    if shown.qtype != target.qtype:
        return _("the question type changed")
    if REGISTRY[target.qtype].manual:
        return _("graded by a person")
    if REGISTRY[target.qtype].deferred:
        return _("graded by checking the uploaded file")
    try:
        if _candidate_view(shown, order) != _candidate_view(target, order):
            return _("the options shown to the candidate changed")
        if response is not None:
            REGISTRY[target.qtype].check_response(target.spec, response)
    except (KeyError, ResponseError):
        return _("the options shown to the candidate changed")
    return None


def changed_question_ids(exam: Exam) -> list[int]:
    """Questions in the exam's finished attempts whose current version is not the version shown."""
    return list(db.session.execute(
        select(Question.id).distinct()
        .join(QuestionVersion, QuestionVersion.question_id == Question.id)
        .join(AttemptItem, AttemptItem.question_version_id == QuestionVersion.id)
        .join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .where(Attempt.exam_id == exam.id, Attempt.state == FINISHED,
               Question.current_version_id.is_not(None), Question.current_version_id != QuestionVersion.id)
        .order_by(Question.id)).scalars())


def exam_questions(exam: Exam) -> list[tuple[Question, int]]:
    """Every question in the exam's finished attempts with the number of attempt items showing it."""
    rows = db.session.execute(
        select(Question, func.count(AttemptItem.id))
        .join(QuestionVersion, QuestionVersion.question_id == Question.id)
        .join(AttemptItem, AttemptItem.question_version_id == QuestionVersion.id)
        .join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .where(Attempt.exam_id == exam.id, Attempt.state == FINISHED)
        .group_by(Question.id).order_by(Question.id)).all()
    return [(q, n) for q, n in rows]


def _cert_dict(certificate: Certificate) -> CertificateNote:
    cert = certificate.certification
    return CertificateNote(cert.title_zh, cert.title_en, certificate.serial)


def _eq_or_null(column, value):
    return column.is_(None) if value is None else column == value


def regrade_exam(exam: Exam, question_ids: list[int] | None = None, *, dry_run: bool = True) -> RegradeReport:
    """Regrade the exam's finished attempts on the chosen questions against their current versions.

    ``question_ids``: Question ids (None or empty: every question whose current version differs from
    a version shown in a finished attempt). With ``dry_run`` (the default) everything is computed
    and rolled back to a SAVEPOINT; otherwise flushed, and the caller commits once.
    Raises DomainError 400 naming an id that is not a question of the exam's finished attempts;
    :class:`RegradeConflict` if a row changed concurrently (nothing kept).
    """
    available = {q.id for q, _n in exam_questions(exam)}
    if question_ids:
        wanted = []
        for qid in question_ids:
            if qid not in available:
                raise DomainError(_("Question %(id)s is not in any finished attempt of exam %(code)s.",
                                    id=qid, code=exam.code), code="bad_question", status=400)
            if qid not in wanted:
                wanted.append(qid)
    else:
        wanted = changed_question_ids(exam)
    savepoint = db.session.begin_nested()
    try:
        report = _regrade(exam, wanted, dry_run)
    except BaseException:
        savepoint.rollback()
        raise
    if dry_run:
        savepoint.rollback()
    else:
        savepoint.commit()
    return report


def _regrade(exam: Exam, question_ids: list[int], dry_run: bool) -> RegradeReport:
    exam_code, exam_id, pass_mark = exam.code, exam.id, Decimal(exam.pass_mark)
    course = exam.course
    questions = {q.id: q for q in db.session.execute(select(Question).where(Question.id.in_(question_ids))).scalars()}
    plans = OrderedDict((qid, QuestionPlan(qid, questions[qid].key, questions[qid].name,
                                           questions[qid].current_version.version if questions[qid].current_version else 0))
                        for qid in question_ids)
    report = RegradeReport(exam_code=exam_code, dry_run=dry_run, questions=list(plans.values()))
    if not question_ids:
        return report
    rows = db.session.execute(
        select(AttemptItem, Attempt, QuestionVersion)
        .join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .join(QuestionVersion, QuestionVersion.id == AttemptItem.question_version_id)
        .where(Attempt.exam_id == exam_id, Attempt.state == FINISHED, Attempt.points.is_not(None),
               QuestionVersion.question_id.in_(question_ids))
        .order_by(Attempt.id, AttemptItem.position)).all()
    deltas: "OrderedDict[int, list]" = OrderedDict()  # attempt id -> [attempt, delta points, items changed]
    attempt_ids = set()
    for item, attempt, shown in rows:
        attempt_ids.add(attempt.id)
        plans[shown.question_id].attempts += 1
        target = questions[shown.question_id].current_version
        if target is None:
            continue
        if target.id != shown.id:
            reason = incompatibility(shown, target, item.option_order or [], item.response)
            if reason:
                report.skipped.append(Skipped(shown.question_id, attempt.id, shown.version, target.version, reason))
                continue
        elif (REGISTRY[target.qtype].manual or REGISTRY[target.qtype].deferred):
            continue
        fraction, awarded = grade_item(target.qtype, target.spec, item.response, item.points)
        old_fraction = None if item.fraction is None else Decimal(str(item.fraction))
        old_awarded = None if item.awarded is None else Decimal(item.awarded)
        if old_fraction == fraction and old_awarded == awarded:
            continue
        written = db.session.execute(
            update(AttemptItem)
            .where(AttemptItem.id == item.id, _eq_or_null(AttemptItem.fraction, item.fraction),
                   _eq_or_null(AttemptItem.awarded, item.awarded))
            .values(fraction=fraction, awarded=awarded).execution_options(synchronize_session=False)).rowcount
        if written != 1:
            raise RegradeConflict()
        entry = deltas.setdefault(attempt.id, [attempt, Decimal(0), 0])
        entry[1] += awarded - (old_awarded or Decimal(0))
        entry[2] += 1
        report.items_changed += 1
    report.attempts_checked = len(attempt_ids)

    changed_users: "OrderedDict[int, list[AttemptChange]]" = OrderedDict()
    # A pass/fail flip can change the certification; so can any score change when the grade kept is the
    # first attempt's or the average (a mean crosses the pass mark with no attempt flipping).
    every_change_counts = method_of(exam) in ("first", "average")
    for attempt, delta, count in deltas.values():
        old_points, old_score, old_passed = Decimal(attempt.points), Decimal(attempt.score), bool(attempt.passed)
        new_points = old_points + delta
        new_score = score_percent(new_points, Decimal(attempt.max_points))
        new_passed = new_score >= pass_mark
        written = db.session.execute(
            update(Attempt)
            .where(Attempt.id == attempt.id, Attempt.state == FINISHED, Attempt.points == attempt.points)
            .values(points=new_points, score=new_score, passed=new_passed)
            .execution_options(synchronize_session=False)).rowcount
        if written != 1:
            raise RegradeConflict()
        user = attempt.user
        change = AttemptChange(
            attempt_id=attempt.id, attempt_number=attempt.number, user_id=user.id, staff_number=user.staff_number,
            name=user.name, department=user.department.name if user.department else "",
            old_points=old_points, new_points=new_points, old_score=old_score, new_score=new_score,
            old_passed=old_passed, new_passed=new_passed, items_changed=count)
        report.changes.append(change)
        if change.pass_changed or every_change_counts:
            changed_users.setdefault(user.id, []).append(change)
    db.session.expire_all()
    if course is not None:
        for user_id, changes in changed_users.items():
            _certification_consequences(db.session.get(User, user_id), course, exam_code, changes)
    return report


def _certification_consequences(user, course, exam_code: str, changes: list[AttemptChange]) -> None:
    """Issue or revoke for one candidate whose attempts' scores changed (``changes``, by attempt),
    by the certification rule (:func:`~app.exams.services.has_passed_course_exam`: the grade kept
    reached the pass mark). Flushes."""
    last = changes[-1]
    if has_passed_course_exam(user.id, course.id):
        completed = db.session.execute(select(Enrolment.completed_at).where(
            Enrolment.user_id == user.id, Enrolment.course_id == course.id)).scalar_one_or_none()
        if not any(c.new_passed for c in changes) and completed is not None:
            return  # still passed, as before: nothing to do
        # the attempt the certificate names: the latest that now passes, else (a mean that now
        # reaches the pass mark) the latest changed one
        passed = next((c for c in reversed(changes) if c.new_passed), last)
        before = set(db.session.execute(select(Certificate.id).where(Certificate.user_id == user.id)).scalars())
        check_course_completion(user, course, attempt=db.session.get(Attempt, passed.attempt_id))
        for certificate in db.session.execute(
                select(Certificate).where(Certificate.user_id == user.id).order_by(Certificate.id)).scalars():
            if certificate.id not in before:
                passed.certificates_issued.append(_cert_dict(certificate))
        return
    # No passed attempt left at the course's exams: the course is no longer complete.
    db.session.execute(
        update(Enrolment)
        .where(Enrolment.user_id == user.id, Enrolment.course_id == course.id, Enrolment.completed_at.is_not(None))
        .values(completed_at=None, credit_hours_awarded=None).execution_options(synchronize_session=False))
    now = utcnow()
    holding = db.session.execute(
        select(Certificate)
        .join(certification_course, certification_course.c.certification_id == Certificate.certification_id)
        .where(Certificate.user_id == user.id, certification_course.c.course_id == course.id, Certificate.is_valid)
        .order_by(Certificate.id)).scalars().all()
    for certificate in holding:
        revoked = db.session.execute(
            update(Certificate).where(Certificate.id == certificate.id, Certificate.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=f"regrade: exam {exam_code}, attempt {last.attempt_number}")
            .execution_options(synchronize_session=False)).rowcount
        if revoked == 1:
            last.certificates_revoked.append(_cert_dict(certificate))
            record(None, "certificate.revoke", f"certificate:{certificate.id}",
                   {"serial": certificate.serial, "user_id": user.id,
                    "reason": f"regrade: exam {exam_code}, attempt {last.attempt_number}"})
    db.session.expire_all()


def load_exam(code: str) -> Exam | None:
    """The exam with ``code`` (active or not), or None."""
    return db.session.execute(select(Exam).where(Exam.code == code)).scalar_one_or_none()

