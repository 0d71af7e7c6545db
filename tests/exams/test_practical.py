"""Practical tasks in an exam, without HTTP: uploads stored, replaced, refused, too late, in conflict;
the checking job grades once however often it runs; no certificate before the grading; a task left
without a file scores 0; blueprint rows without ``type`` never draw a task; content sync versions."""
import datetime as dt
import hashlib
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import func, select

from app.certification.models import Certificate
from app.content.report import SyncReport
from app.core.errors import DomainError
from app.exams import practical
from app.exams.models import (
    AWAITING_GRADING, FINISHED, UPLOAD_CHECKING, UPLOAD_GRADED, UPLOAD_PENDING, UPLOAD_STORED, Attempt,
    PracticalUpload,
)
from app.exams.services import SaveConflict, draw_form, finish_attempt, save_answer, start_attempt
from app.extensions import db
from app.learning.services import complete_lesson
from app.questions.models import Question
from tests.exams.practicalworld import (
    copy_task, half_right_bytes, make_practical_world, reference_bytes,
)
from tests.factories import make_department, make_user, right_response, utc


@pytest.fixture()
def world(app, db, tmp_path):
    """The mixed exam, a candidate who did the lesson, and an open attempt."""
    tasks_dir = tmp_path / "tasks"
    copy_task(tasks_dir)
    course, exam = make_practical_world(tasks_dir)
    user = make_user(make_department())
    for lesson in course.active_lessons:
        complete_lesson(user, lesson)
    attempt = start_attempt(user, exam)
    db.session.commit()
    yield {"attempt_id": attempt.id, "user": user, "exam": exam, "tasks_dir": tasks_dir, "course": course}


def _attempt(world) -> Attempt:
    return db.session.get(Attempt, world["attempt_id"])


def _task_item(world):
    return next(i for i in _attempt(world).items if i.question_version.qtype == "practical")


def _upload(world, data, revision, name="答案.docx"):
    item = _task_item(world)
    result = practical.store_upload(world["attempt_id"], world["user"].id, item.position, name, data, revision)
    db.session.commit()
    return result


def _uploads():
    return db.session.execute(select(func.count(PracticalUpload.id))).scalar_one()


def test_the_mixed_exam_draws_one_task_and_two_choice_questions(world):
    kinds = sorted(i.question_version.qtype for i in _attempt(world).items)
    assert kinds == ["practical", "single_choice", "single_choice"]
    assert _task_item(world).points == Decimal("70.00")


def test_upload_is_stored_with_the_attempt_and_counts_as_answered(world):
    data = reference_bytes()
    result = _upload(world, data, 0)
    assert result.revision == 1 and result.filename == "答案.docx" and result.size == len(data)
    item = _task_item(world)
    assert item.revision == 1 and item.response["upload"]["sha256"] == result.sha256
    stored = practical.uploaded_file(item)
    assert stored.content == data and stored.state == UPLOAD_STORED and stored.revision == 1
    from app.exams.services import candidate_payload

    question = next(q for q in candidate_payload(_attempt(world))["questions"] if q["kind"] == "practical")
    assert question["answered"] is True and question["echo"]["filename"] == "答案.docx"


def test_a_new_upload_replaces_the_file(world):
    _upload(world, half_right_bytes(), 0, "first.docx")
    result = _upload(world, reference_bytes(), 1, "second.docx")
    assert result.revision == 2
    assert _uploads() == 1
    stored = practical.uploaded_file(_task_item(world))
    assert stored.filename == "second.docx" and stored.content == reference_bytes()


def test_a_stale_revision_is_a_conflict_and_keeps_the_stored_file(world):
    _upload(world, reference_bytes(), 0, "mine.docx")
    with pytest.raises(SaveConflict) as conflict:
        _upload(world, half_right_bytes(), 0, "other-window.docx")
    db.session.rollback()
    assert conflict.value.revision == 1
    assert practical.uploaded_file(_task_item(world)).filename == "mine.docx"
    # the same file again (an acknowledgement lost on the way) counts as stored
    again = _upload(world, reference_bytes(), 0, "mine.docx")
    assert again.revision == 1


@pytest.mark.parametrize("data,name,code", [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "答案.wps", "legacy_format"),
    (b"just some text, not an Office file", "answer.docx", "not_office_file"),
])
def test_a_refused_file_stores_nothing(world, data, name, code):
    with pytest.raises(DomainError) as refused:
        _upload(world, data, 0, name)
    db.session.rollback()
    assert refused.value.status == 400 and refused.value.code == code
    assert refused.value.message  # a reason the page shows
    assert _uploads() == 0 and _task_item(world).revision == 0


def test_a_file_over_the_limit_is_413(app, world):
    app.config["PRACTICAL_MAX_UPLOAD_BYTES"] = 1000
    try:
        with pytest.raises(DomainError) as refused:
            _upload(world, reference_bytes(), 0)
    finally:
        app.config.pop("PRACTICAL_MAX_UPLOAD_BYTES")
    db.session.rollback()
    assert refused.value.status == 413 and _uploads() == 0


def test_an_upload_after_deadline_and_grace_is_refused(world):
    attempt = _attempt(world)
    late = attempt.deadline_at + dt.timedelta(seconds=1)
    with time_machine.travel(late, tick=False):
        with pytest.raises(DomainError) as refused:
            _upload(world, reference_bytes(), 0)
    db.session.rollback()
    assert refused.value.code == "time_up"
    assert _uploads() == 0


def test_autosave_cannot_fake_an_upload(world):
    item = _task_item(world)
    with pytest.raises(DomainError) as refused:
        save_answer(_attempt(world), item.position, {"upload": {"filename": "x.docx", "size": 1, "sha256": "0"}}, 0)
    assert refused.value.status == 400


def _answer_choices_right(world):
    attempt = _attempt(world)
    for item in attempt.items:
        if item.question_version.qtype != "practical":
            save_answer(attempt, item.position, right_response(item), item.revision)
    db.session.commit()


def _certificates(user):
    return db.session.execute(select(func.count(Certificate.id)).where(Certificate.user_id == user.id)).scalar_one()


def test_submit_holds_the_attempt_being_graded_then_the_job_grades_it_once(world):
    _answer_choices_right(world)
    _upload(world, reference_bytes(), 0)
    finish_attempt(_attempt(world), by="candidate")
    db.session.commit()
    attempt = _attempt(world)
    assert attempt.state == AWAITING_GRADING and attempt.score is None and attempt.passed is None
    assert practical.uploaded_file(_task_item(world)).state == UPLOAD_PENDING
    assert practical.checking_count(attempt.id) == 1
    assert _certificates(world["user"]) == 0               # no certificate before the grading

    assert practical.check_pending_uploads() == 1
    assert practical.check_pending_uploads() == 0          # idempotent: nothing left to check
    db.session.expire_all()
    attempt = _attempt(world)
    assert attempt.state == FINISHED
    upload = practical.uploaded_file(_task_item(world))
    assert upload.state == UPLOAD_GRADED and Decimal(upload.fraction) == Decimal("1.00000")
    assert all(rule["passed"] for rule in upload.result["rules"])
    assert _task_item(world).awarded == Decimal("70.00")
    assert attempt.score == Decimal("100.00") and attempt.passed is True
    assert _certificates(world["user"]) == 1                # issued once, after the grading


def test_partial_credit_per_rule_and_the_review_in_plain_words(app, world):
    _answer_choices_right(world)
    _upload(world, half_right_bytes(), 0)
    finish_attempt(_attempt(world), by="candidate")
    db.session.commit()
    practical.check_pending_uploads()
    db.session.expire_all()
    item = _task_item(world)
    upload = practical.uploaded_file(item)
    rules = upload.result["rules"]
    assert any(r["passed"] for r in rules) and not all(r["passed"] for r in rules)
    expected = (Decimal(70) * Decimal(str(round(upload.result["points_awarded"] / upload.result["points_possible"], 5)))
                ).quantize(Decimal("0.01"))
    assert item.awarded == expected and 0 < item.awarded < 70
    from app.exams.review import review_questions

    with app.test_request_context("/?lang=en"):
        from flask_babel import refresh
        refresh()
        entries = review_questions(_attempt(world), ["marks", "correctness", "response"])
    task = next(e for e in entries if "practical" in e)
    assert task["practical"]["filename"] == "答案.docx"
    texts = [r["text"] for r in task["practical"]["rules"]]
    assert len(texts) == len(rules) and all(texts)
    assert [r["passed"] for r in task["practical"]["rules"]] == [r["passed"] for r in rules]
    # without "correctness" the rules are not sent at all
    entries = review_questions(_attempt(world), ["marks"])
    assert "rules" not in next(e for e in entries if "practical" in e)["practical"]


def test_a_task_without_upload_scores_zero_and_the_attempt_finishes_at_once(world):
    _answer_choices_right(world)
    finish_attempt(_attempt(world), by="candidate")
    db.session.commit()
    attempt = _attempt(world)
    assert attempt.state == FINISHED
    assert _task_item(world).awarded == Decimal("0.00")
    assert attempt.score == Decimal("30.00") and attempt.passed is False
    assert practical.check_pending_uploads() == 0


def test_a_stale_claim_is_checked_again_but_a_fresh_one_is_not(world):
    _upload(world, reference_bytes(), 0)
    finish_attempt(_attempt(world), by="candidate")
    db.session.commit()
    upload_id = practical.uploaded_file(_task_item(world)).id
    claimed = practical.claim_upload(upload_id, stale_seconds=300)
    db.session.commit()
    assert claimed is not None
    assert practical.claim_upload(upload_id, stale_seconds=300) is None   # someone holds it
    assert practical.check_pending_uploads() == 0
    with time_machine.travel(claimed + dt.timedelta(seconds=301), tick=False):
        assert practical.check_pending_uploads() == 1                     # the dead worker's claim
    # the first claimant's late result is not written over the second one
    assert practical.record_check(upload_id, claimed, 0.0, None, "late") is False
    db.session.expire_all()
    assert practical.uploaded_file(_task_item(world)).state == UPLOAD_GRADED
    assert _attempt(world).state == FINISHED


def test_finalising_an_overdue_attempt_marks_its_upload_pending(world):
    _upload(world, reference_bytes(), 0)
    attempt = _attempt(world)
    with time_machine.travel(attempt.deadline_at + dt.timedelta(minutes=5), tick=False):
        from app.exams.services import finalise_overdue_attempts

        assert finalise_overdue_attempts() == 1
    db.session.expire_all()
    assert _attempt(world).state == AWAITING_GRADING
    assert practical.uploaded_file(_task_item(world)).state == UPLOAD_PENDING


def test_rows_without_a_type_never_draw_a_task(world):
    from app.exams.services import count_available

    exam = world["exam"]
    item_id = exam.blueprint[0].standard_item_id
    # the task is the only "medium" question of the item: an untyped row finds nothing, a typed one finds it
    assert count_available(item_id, None, "medium") == 0
    assert count_available(item_id, None, "medium", "practical") == 1
    assert count_available(item_id, None, None) == 2
    exam.blueprint[0].qtype = None
    exam.blueprint[0].difficulty = "medium"
    db.session.flush()
    with pytest.raises(DomainError) as refused:
        draw_form(exam, 1)
    assert refused.value.code == "bank_too_small"


def test_content_sync_versions_a_task_only_when_its_fingerprint_changes(world):
    tasks_dir = world["tasks_dir"]
    question = db.session.execute(select(Question).where(Question.key == "task:doc-gongwen-format")).scalar_one()
    assert question.qtype == "practical" and question.difficulty == "medium" and question.standard_item.code == "C1"
    first = question.current_version_id
    report = SyncReport()
    practical.sync_tasks(tasks_dir, report)
    assert not report.changed and question.current_version_id == first
    task_yaml = tasks_dir / "doc-gongwen-format" / "task.yaml"
    task_yaml.write_text(task_yaml.read_text(encoding="utf-8").replace("下载的文件是", "你下载的文件是"), encoding="utf-8")
    practical.sync_tasks(tasks_dir, SyncReport())
    db.session.refresh(question)
    assert question.current_version_id != first and question.current_version.version == 2
    # the open attempt keeps the version it showed
    assert _task_item(world).question_version_id == first


def test_a_checker_timeout_is_retried_then_fails_with_zero(world, monkeypatch):
    from app.exams.models import UPLOAD_FAILED
    from app.practical import checking

    calls = []

    def timed_out(self, task, data, timeout_s, memory_mb, filename=""):
        calls.append(filename)
        return checking.not_checked(task, "timeout", "文件在 1 秒内未能检查完毕，无法评分",
                                    "the file could not be checked within 1 seconds")

    monkeypatch.setattr(checking.CheckerServer, "check", timed_out)
    _answer_choices_right(world)
    _upload(world, reference_bytes(), 0)
    finish_attempt(_attempt(world), by="candidate")
    db.session.commit()
    assert practical.check_pending_uploads(max_tries=3) == 0       # try 1: put back, not final
    assert practical.check_pending_uploads(max_tries=3) == 0       # try 2
    db.session.expire_all()
    assert practical.uploaded_file(_task_item(world)).state == UPLOAD_PENDING
    assert _attempt(world).state == AWAITING_GRADING
    assert practical.check_pending_uploads(max_tries=3) == 1       # try 3: failed, scored 0
    assert len(calls) == 3
    db.session.expire_all()
    upload = practical.uploaded_file(_task_item(world))
    assert upload.state == UPLOAD_FAILED and upload.error == "timeout"
    assert upload.result["rules"][0]["detail_en"] == "the file could not be checked within 1 seconds"
    attempt = _attempt(world)
    assert attempt.state == FINISHED and _task_item(world).awarded == Decimal("0.00")
    assert attempt.score == Decimal("30.00") and attempt.passed is False


def test_cli_grade_tasks_checks_the_pending_uploads_once(app, world):
    _upload(world, reference_bytes(), 0)
    finish_attempt(_attempt(world), by="candidate")
    db.session.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["exams", "grade-tasks"])
    assert first.exit_code == 0 and "checked 1 uploaded file(s)" in first.output
    second = runner.invoke(args=["exams", "grade-tasks"])
    assert "checked 0 uploaded file(s)" in second.output
    db.session.expire_all()
    assert _attempt(world).state == FINISHED


def _grade(world, attempt_id, user, data):
    attempt = db.session.get(Attempt, attempt_id)
    item = next(i for i in attempt.items if i.question_version.qtype == "practical")
    practical.store_upload(attempt_id, user.id, item.position, "答案.docx", data, item.revision)
    db.session.commit()
    finish_attempt(db.session.get(Attempt, attempt_id), by="candidate")
    db.session.commit()
    assert practical.check_pending_uploads() == 1
    db.session.expire_all()
    return practical.uploaded_file(item)


def test_an_attempt_keeps_the_rules_and_starter_of_its_version_after_the_task_changes(world):
    import shutil

    from app.exams.models import PracticalTaskFile
    from tests.exams.practicalworld import TASK_DIR

    folder = world["tasks_dir"] / "doc-gongwen-format"
    old_starter = (folder / "starter.docx").read_bytes()
    old_item = _task_item(world)
    stored = {f.role: f for f in db.session.execute(select(PracticalTaskFile).where(
        PracticalTaskFile.question_version_id == old_item.question_version_id)).scalars()}
    assert stored["starter"].name == "starter.docx" and stored["starter"].sha256 == hashlib.sha256(old_starter).hexdigest()
    assert stored["task"].name == "task.yaml" and stored["task"].size == (folder / "task.yaml").stat().st_size
    # the task changes on disk after the attempt started: a stricter top margin, a different starter
    task_yaml = folder / "task.yaml"
    text = task_yaml.read_text(encoding="utf-8")
    assert "    top_mm: 37\n" in text
    task_yaml.write_text(text.replace("    top_mm: 37\n", "    top_mm: 45\n", 1), encoding="utf-8")
    new_starter = (TASK_DIR / "half_right.docx").read_bytes()
    (folder / "starter.docx").write_bytes(new_starter)
    report = SyncReport()
    practical.sync_tasks(world["tasks_dir"], report)
    db.session.commit()
    assert report.changed
    shutil.rmtree(world["tasks_dir"])          # the grader and the web need no task folder any more

    data, name, _type = practical.starter_download(_attempt(world), old_item.position)
    assert data == old_starter and name == "doc-gongwen-format.docx"
    old = _grade(world, world["attempt_id"], world["user"], reference_bytes())
    assert old.state == UPLOAD_GRADED and Decimal(old.fraction) == Decimal("1.00000")   # the old rules

    newcomer = make_user(make_department())
    for lesson in world["course"].active_lessons:
        complete_lesson(newcomer, lesson)
    second = start_attempt(newcomer, world["exam"])
    db.session.commit()
    new_item = next(i for i in second.items if i.question_version.qtype == "practical")
    assert new_item.question_version_id != old_item.question_version_id
    assert practical.starter_download(second, new_item.position)[0] == new_starter
    new = _grade(world, second.id, newcomer, reference_bytes())
    page = next(r for r in new.result["rules"] if r["rule_id"] == "page")
    assert page["passed"] is False and Decimal(new.fraction) < 1                   # the new rules


def test_sync_gives_a_current_version_without_stored_files_its_files(world):
    from app.exams.models import PracticalTaskFile

    version_id = _task_item(world).question_version_id
    db.session.execute(PracticalTaskFile.__table__.delete())
    db.session.commit()
    with pytest.raises(DomainError) as missing:
        practical.starter_download(_attempt(world), _task_item(world).position)
    assert missing.value.status == 404
    report = SyncReport()
    practical.sync_tasks(world["tasks_dir"], report)
    db.session.commit()
    assert report.changed
    rows = db.session.execute(select(func.count(PracticalTaskFile.id))
                              .where(PracticalTaskFile.question_version_id == version_id)).scalar_one()
    assert rows == 2
    assert practical.starter_download(_attempt(world), _task_item(world).position)[0] == (
        world["tasks_dir"] / "doc-gongwen-format" / "starter.docx").read_bytes()
    again = SyncReport()
    practical.sync_tasks(world["tasks_dir"], again)
    assert not again.changed
