"""Versions and regrade (issue 6 item 5, acceptance 5): a key fix changes the right scores and
certificates, the report lists them, a dry run writes nothing, a second run changes nothing."""
from __future__ import annotations

import logging
import shutil
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.certification.models import Certificate, Certification
from app.content.report import SyncReport
from app.core.errors import DomainError
from app.exams.models import Attempt, AttemptItem
from app.exams.regrade import regrade_exam
from app.exams.services import finish_attempt, start_attempt
from app.learning.models import Enrolment
from app.learning.services import complete_lesson
from app.questions.models import Question, QuestionVersion
from app.questions.services import import_gift
from tests.factories import SMALL_GIFT, csrf_token, make_department, make_exam_world, make_user

# Version 1 of X1-001 keys "Win+L" (a); the "fixed" version 2 keys "Win+D" (b) with the same options.
FIXED_GIFT = SMALL_GIFT.replace("=Win+L#对。\n~Win+D#这是显示桌面。", "~Win+L#对。\n=Win+D#这是显示桌面。")
# A version whose options differ from what candidates saw (a text changed): not comparable.
REWORDED_GIFT = SMALL_GIFT.replace("~Ctrl+S#这是保存。", "~Ctrl+Shift+S#这是另存为。")


def _answer(attempt, key: str, response: dict) -> None:
    item = next(i for i in attempt.items if i.question_version.question.key == key)
    item.response = response


def _sit(user, exam, first_choice: str, tf_right: bool = True, multi_right: bool = False) -> Attempt:
    """A finished attempt: X1-001 answered ``first_choice``; the true/false and multiple response as told."""
    attempt = start_attempt(user, exam)
    _answer(attempt, "X1-001", {"choice": first_choice})
    _answer(attempt, "X1-002", {"answer": tf_right})
    _answer(attempt, "X1-003", {"choices": ["a", "b"] if multi_right else ["c"]})
    finish_attempt(attempt, by="candidate")
    return attempt


@pytest.fixture()
def world(db):
    """Alice (all right under v1), Bob (chose b: fails under v1, passes under v2), Carol (chose a plus
    the true/false: passes under v1 with a certificate, fails under v2), Dave (chose c: 0 both ways)."""
    department = make_department("市财政局")
    course, exam = make_exam_world(attempts_allowed=3, pass_mark=60)
    db.session.add(Certification(code="REG-CERT", title_zh="回归测试证书", title_en="Regrade certificate",
                                 courses=[course]))
    db.session.flush()
    people = {}
    for name, choice, multi in (("Alice", "a", True), ("Bob", "b", False), ("Carol", "a", False), ("Dave", "c", True)):
        user = make_user(department, name=name)
        for lesson in course.active_lessons:
            complete_lesson(user, lesson)
        people[name] = (user, _sit(user, exam, choice, multi_right=multi))
    db.session.commit()
    return course, exam, people


def _points_of(attempt, key):
    return next(i.points for i in attempt.items if i.question_version.question.key == key)


def _state(db):
    """Everything a regrade may write, as plain values."""
    return (
        sorted(db.session.execute(select(Attempt.id, Attempt.points, Attempt.score, Attempt.passed)).all()),
        sorted(db.session.execute(select(AttemptItem.id, AttemptItem.fraction, AttemptItem.awarded,
                                         AttemptItem.question_version_id)).all()),
        sorted(db.session.execute(select(Certificate.id, Certificate.revoked_at, Certificate.revoked_reason)).all()),
        sorted(db.session.execute(select(Enrolment.id, Enrolment.completed_at, Enrolment.credit_hours_awarded)).all()),
    )


def _fix_key(db):
    import_gift(FIXED_GIFT, "tests/small.gift", SyncReport())
    db.session.commit()
    return db.session.execute(select(Question).where(Question.key == "X1-001")).scalar_one()


def test_before_the_fix_carol_holds_a_certificate_and_bob_does_not(db, world):
    _course, _exam, people = world
    holders = set(db.session.execute(select(Certificate.user_id).where(Certificate.revoked_at.is_(None))).scalars())
    assert people["Carol"][0].id in holders and people["Alice"][0].id in holders
    assert people["Bob"][0].id not in holders


def test_dry_run_reports_who_changes_and_writes_nothing(db, world):
    _course, exam, people = world
    question = _fix_key(db)
    before = _state(db)
    report = regrade_exam(exam, [question.id], dry_run=True)
    db.session.rollback()
    assert _state(db) == before
    assert report.dry_run and report.attempts_checked == 4
    by_name = {c.name: c for c in report.changes}
    assert set(by_name) == {"Alice", "Bob", "Carol"}  # Dave chose c: 0 under both keys
    p = {name: Decimal(_points_of(people[name][1], "X1-001")) for name in people}  # each form draws its own points
    alice, bob, carol = by_name["Alice"], by_name["Bob"], by_name["Carol"]
    assert (alice.old_score, alice.new_score, alice.old_passed, alice.new_passed) == \
        (Decimal(100), 100 - p["Alice"], True, True)
    assert bob.new_points == bob.old_points + p["Bob"] and (bob.old_passed, bob.new_passed) == (False, True)
    assert carol.new_points == carol.old_points - p["Carol"] and (carol.old_passed, carol.new_passed) == (True, False)
    assert bob.department == "市财政局" and bob.staff_number == people["Bob"][0].staff_number
    assert [c.title_en for c in bob.certificates_issued] == ["Regrade certificate"]
    assert [c.title_en for c in carol.certificates_revoked] == ["Regrade certificate"]
    assert not alice.certificates_issued and not alice.certificates_revoked
    assert [c.name for c in report.newly_passed] == ["Bob"] and [c.name for c in report.newly_failed] == ["Carol"]
    text = "\n".join(report.lines())
    assert "DRY RUN" in text and "Bob" in text and "certificate revoked: Regrade certificate" in text


def test_commit_changes_scores_and_certificates_and_a_second_run_changes_nothing(db, world):
    course, exam, people = world
    question = _fix_key(db)
    report = regrade_exam(exam, [question.id], dry_run=False)
    db.session.commit()
    assert {c.name for c in report.changes} == {"Alice", "Bob", "Carol"}
    bob, carol, dave = (people[n][0] for n in ("Bob", "Carol", "Dave"))
    bob_attempt, carol_attempt = db.session.get(Attempt, people["Bob"][1].id), db.session.get(Attempt, people["Carol"][1].id)
    assert bob_attempt.passed is True and carol_attempt.passed is False
    assert bob_attempt.score == bob_attempt.points  # 100 points in all: score = points
    bob_cert = db.session.execute(select(Certificate).where(Certificate.user_id == bob.id)).scalar_one()
    assert bob_cert.is_valid and bob_cert.attempt_id == bob_attempt.id
    carol_cert = db.session.execute(select(Certificate).where(Certificate.user_id == carol.id)).scalar_one()
    assert carol_cert.revoked_at is not None and carol_cert.revoked_reason.startswith("regrade")
    carol_enrolment = db.session.execute(select(Enrolment).where(Enrolment.user_id == carol.id,
                                                                 Enrolment.course_id == course.id)).scalar_one()
    assert carol_enrolment.completed_at is None
    # Attempts keep the version they showed; the item was graded with version 2's key.
    item = next(i for i in bob_attempt.items if i.question_version.question_id == question.id)
    assert item.question_version.version == 1 and item.fraction == 1
    assert db.session.execute(select(func.count(Certificate.id)).where(Certificate.user_id == dave.id)).scalar_one() == 1
    # Idempotent: the same regrade again finds nothing to change and writes nothing.
    before = _state(db)
    again = regrade_exam(exam, [question.id], dry_run=False)
    db.session.commit()
    assert again.changes == [] and again.items_changed == 0
    assert _state(db) == before


def test_without_question_ids_every_changed_question_is_taken(db, world):
    _course, exam, _people = world
    assert regrade_exam(exam, None).questions == []  # nothing changed yet
    question = _fix_key(db)
    report = regrade_exam(exam, None)
    assert [q.question_id for q in report.questions] == [question.id]
    assert report.questions[0].current_version == 2 and report.questions[0].attempts == 4


def test_a_version_with_other_options_is_not_used_and_is_listed(db, world):
    _course, exam, _people = world
    import_gift(REWORDED_GIFT, "tests/small.gift", SyncReport())
    db.session.commit()
    question = db.session.execute(select(Question).where(Question.key == "X1-001")).scalar_one()
    before = _state(db)
    report = regrade_exam(exam, [question.id], dry_run=False)
    db.session.commit()
    assert report.changes == [] and len(report.skipped) == 4
    assert report.skipped[0].reason in ("the options shown to the candidate changed", "考生看到的选项已改变")
    assert _state(db) == before


def test_a_question_not_in_the_exam_is_refused(db, world):
    _course, exam, _people = world
    with pytest.raises(DomainError) as error:
        regrade_exam(exam, [999999])
    assert error.value.status == 400 and "999999" in error.value.message


def test_a_concurrent_change_aborts_the_whole_regrade(db, world, monkeypatch):
    """If an item's grade moved between reading and writing, nothing is kept (conditional UPDATEs)."""
    from app.exams import regrade as regrade_module

    _course, exam, people = world
    question = _fix_key(db)
    before = _state(db)
    real = regrade_module.grade_item
    calls = []

    def grade_and_interfere(*args):
        calls.append(1)
        if len(calls) == 2:  # another process regrades Bob's item first
            item = next(i for i in people["Bob"][1].items if i.question_version.question_id == question.id)
            db.session.execute(AttemptItem.__table__.update().where(AttemptItem.__table__.c.id == item.id)
                               .values(fraction=Decimal("0.5")))
        return real(*args)

    monkeypatch.setattr(regrade_module, "grade_item", grade_and_interfere)
    with pytest.raises(regrade_module.RegradeConflict):
        regrade_exam(exam, [question.id], dry_run=False)
    db.session.rollback()
    assert _state(db) == before


def test_cli_dry_run_then_commit(app, db, world):
    _course, exam, _people = world
    question = _fix_key(db)
    runner = app.test_cli_runner()
    before = _state(db)
    result = runner.invoke(args=["exams", "regrade", exam.code, "--question", str(question.id), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "DRY RUN" in result.output and "Carol" in result.output and "pass -> fail" in result.output
    db.session.expire_all()
    assert _state(db) == before
    result = runner.invoke(args=["exams", "regrade", exam.code])
    assert result.exit_code == 0, result.output
    assert "regrade committed" in result.output and "certificate issued: Regrade certificate" in result.output
    db.session.expire_all()
    assert _state(db) != before
    assert runner.invoke(args=["exams", "regrade", "no-such-exam"]).exit_code == 1


def test_page_shows_the_dry_run_and_the_button_applies_it(app, db, world, client, login_as, caplog):
    _course, exam, _people = world
    question = _fix_key(db)
    examiner = make_user(make_department(), is_examiner=True)
    db.session.commit()
    assert login_as(examiner).status_code == 302
    before = _state(db)
    page = client.get(f"/admin/exams/{exam.code}/regrade?question={question.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Carol" in text and "Bob" in text and "市财政局" in text
    db.session.expire_all()
    assert _state(db) == before
    token = csrf_token(client, f"/admin/exams/{exam.code}/regrade")
    with caplog.at_level(logging.INFO):
        applied = client.post(f"/admin/exams/{exam.code}/regrade", data={"csrf_token": token, "question": str(question.id)})
    assert applied.status_code == 200
    from app.audit.models import AuditEvent

    events = db.session.execute(select(AuditEvent).where(AuditEvent.action == "exam.regrade")).scalars().all()
    assert len(events) == 1 and events[0].actor_id == examiner.id and events[0].target == f"exam:{exam.code}"
    assert any("Carol" in line for line in events[0].detail["report"])
    db.session.expire_all()
    assert _state(db) != before
    assert client.get(f"/admin/exams/{exam.code}/regrade?question=abc").status_code == 400
    assert client.get(f"/admin/exams/{exam.code}/regrade?question=999999").status_code == 400
    assert client.get("/admin/exams/no-such-exam/regrade").status_code == 404


def test_content_sync_makes_a_new_version_and_attempts_keep_theirs(app, db, tmp_path):
    """Item 1 through `flask content sync`: a changed question file adds version n+1; an attempt
    started before keeps pointing at (and showing) the version it drew."""
    from app.content.services import sync_content
    from tests.conftest import ROOT

    courses, bank = tmp_path / "courses", tmp_path / "question_bank"
    shutil.copytree(ROOT / "courses", courses)
    shutil.copytree(ROOT / "question_bank", bank)
    sync_content(courses, bank)
    db.session.commit()
    user = make_user(make_department())
    from app.exams.models import Exam

    exam = db.session.execute(select(Exam).order_by(Exam.id)).scalars().first()
    attempt = start_attempt(user, exam)
    db.session.commit()
    shown = {i.id: i.question_version_id for i in attempt.items}
    item = attempt.items[0]
    version = item.question_version
    old_stem = version.stem
    path = next(p for p in (bank / "questions").glob("*.gift") if old_stem.splitlines()[0] in p.read_text(encoding="utf-8"))
    path.write_text(path.read_text(encoding="utf-8").replace(old_stem.splitlines()[0],
                                                              old_stem.splitlines()[0] + "（修订）", 1), encoding="utf-8")
    sync_content(courses, bank)
    db.session.commit()
    db.session.expire_all()
    question = db.session.get(Question, version.question_id)
    assert [v.version for v in question.versions][-1] == version.version + 1
    assert question.current_version.stem != old_stem
    attempt = db.session.get(Attempt, attempt.id)
    assert {i.id: i.question_version_id for i in attempt.items} == shown
    assert db.session.get(QuestionVersion, shown[item.id]).stem == old_stem


# --- grade kept "average": the certification can change without any attempt's pass flag flipping ---

def _sit_weighted(user, exam, responses: dict, points: dict) -> Attempt:
    """A finished attempt with the three items worth ``points`` (by question key, 100 in all) and answered
    ``responses`` (by key)."""
    attempt = start_attempt(user, exam)
    for item in attempt.items:
        item.points = Decimal(points[item.question_version.question.key])
        item.response = responses[item.question_version.question.key]
    finish_attempt(attempt, by="candidate")
    return attempt


@pytest.fixture()
def averaging(db):
    """Exam kept by the average of attempts, pass mark 60; Erin's two attempts:

    1. X1-001 worth 50 answered ``b`` (wrong under key v1, right under v2), the others wrong: 0 → 50
       (fails both ways: no flip);
    2. X1-001 worth 10 answered ``c`` (wrong both ways), the others right: 90 both ways.

    Before the fix the running means are 0, 45: no certificate. After: 50, 70: reached."""
    department = make_department("市财政局")
    course, exam = make_exam_world(attempts_allowed=3, pass_mark=60)
    exam.grade_method = "average"
    db.session.add(Certification(code="AVG-CERT", title_zh="均分证书", title_en="Average certificate", courses=[course]))
    db.session.flush()
    erin = make_user(department, name="Erin")
    for lesson in course.active_lessons:
        complete_lesson(erin, lesson)
    wrong = {"X1-002": {"answer": False}, "X1-003": {"choices": ["c"]}}
    right = {"X1-002": {"answer": True}, "X1-003": {"choices": ["a", "b"]}}
    first = _sit_weighted(erin, exam, {"X1-001": {"choice": "b"}, **wrong}, {"X1-001": 50, "X1-002": 30, "X1-003": 20})
    second = _sit_weighted(erin, exam, {"X1-001": {"choice": "c"}, **right}, {"X1-001": 10, "X1-002": 45, "X1-003": 45})
    db.session.commit()
    assert (first.score, second.score) == (Decimal(0), Decimal(90))
    return course, exam, erin, first, second


def test_average_a_key_fix_that_lifts_the_mean_issues_the_certificate(db, averaging):
    course, exam, erin, first, _second = averaging
    assert db.session.execute(select(Certificate).where(Certificate.user_id == erin.id)).first() is None
    question = _fix_key(db)
    report = regrade_exam(exam, [question.id], dry_run=False)
    db.session.commit()
    [change] = report.changes
    assert (change.old_score, change.new_score, change.old_passed, change.new_passed) == (0, 50, False, False)
    certificate = db.session.execute(select(Certificate).where(Certificate.user_id == erin.id)).scalar_one()
    assert certificate.is_valid
    assert [c.title_en for c in change.certificates_issued] == ["Average certificate"]
    assert db.session.execute(select(Enrolment.completed_at).where(
        Enrolment.user_id == erin.id, Enrolment.course_id == course.id)).scalar_one() is not None


def test_average_a_key_fix_that_sinks_the_mean_revokes_the_certificate(db, averaging):
    """The same attempts with the fix the other way round: Erin was certified on a mean of 70 (attempt 1
    answered ``a``, right under v1); the fixed key makes attempt 1 score 0 (still failing: no flip), the
    mean 45: the certificate goes."""
    _course, exam, erin, first, _second = averaging
    item = next(i for i in first.items if i.question_version.question.key == "X1-001")
    db.session.execute(AttemptItem.__table__.update().where(AttemptItem.__table__.c.id == item.id)
                       .values(response={"choice": "a"}, fraction=1, awarded=50))
    db.session.execute(Attempt.__table__.update().where(Attempt.__table__.c.id == first.id)
                       .values(points=50, score=50))
    from app.learning.services import check_course_completion
    check_course_completion(erin, exam.course, attempt=db.session.get(Attempt, first.id))
    db.session.commit()
    held = db.session.execute(select(Certificate).where(Certificate.user_id == erin.id)).scalar_one()
    assert held.is_valid  # means 50, 70: reached
    question = _fix_key(db)
    report = regrade_exam(exam, [question.id], dry_run=False)
    db.session.commit()
    [change] = report.changes
    assert (change.old_score, change.new_score, change.old_passed, change.new_passed) == (50, 0, False, False)
    db.session.refresh(held)
    assert held.revoked_at is not None and held.revoked_reason.startswith("regrade")
    assert [c.title_en for c in change.certificates_revoked] == ["Average certificate"]
