"""The exam editor's services: validation per field, save round trip, pool sizes, admission
(networks incl. IPv6, access code, sittings with seats under concurrency), and attempts in progress
keeping their deadline and form when the exam is edited."""
import datetime as dt
import threading
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import event, func, select

from app.auth.models import User
from app.content.report import ContentError, SyncReport
from app.core.errors import DomainError
from app.core.security import hash_password
from app.core.time import utcnow
from app.exams import admission, editor
from app.exams.models import Attempt, AttemptItem, Exam, ExamSitting
from app.exams.services import finish_attempt, save_answer, start_attempt, sync_course_exam
from app.extensions import db as _db
from app.questions.models import Question
from tests.factories import make_department, make_exam_world, make_user, right_response, utc


def form_data(**changes) -> dict:
    """A valid editor form for the tiny world (item X1: three easy questions)."""
    data = {"code": "browser-exam", "title_zh": "浏览器考试", "title_en": "Browser exam", "course": "",
            "time_limit_minutes": "20", "pass_mark": "60", "attempts_allowed": "2", "grade_method": "highest",
            "grace_period_seconds": "0", "shuffle_questions": True, "shuffle_options": True, "navigation": "free",
            "questions_per_page": "0", "opens_at": "", "closes_at": "",
            "review_marks": "immediately", "review_correctness": "never", "review_response": "never",
            "review_correct_answer": "never", "review_feedback": "never", "allow_retake_after_pass": False, "require_lessons": False,
            "rows": [{"item": "X1", "difficulty": "easy", "count": "1", "points": "100"}]}
    data.update(changes)
    return data


def make_browser_exam(**changes) -> Exam:
    spec, errors = editor.validate_exam_spec(form_data(**changes))
    assert not errors, errors
    exam, outcome = editor.save_exam(spec)
    assert outcome == "created"
    _db.session.commit()
    return exam


# --- validation -------------------------------------------------------------------------------

@pytest.mark.parametrize("changes, field", [
    ({"code": "Bad Code!"}, "code"),
    ({"code": "test-course"}, "code"),                      # a course's slug: its exam lives in course.yaml
    ({"title_zh": ""}, "title_zh"),
    ({"title_en": "x" * 201}, "title_en"),
    ({"course": "no-such-course"}, "course"),
    ({"course": "test-course"}, "course"),                  # it has its exam (test-course) already
    ({"time_limit_minutes": "0"}, "time_limit_minutes"),
    ({"time_limit_minutes": "1.5"}, "time_limit_minutes"),
    ({"pass_mark": "101"}, "pass_mark"),
    ({"pass_mark": "NaN"}, "pass_mark"),
    ({"attempts_allowed": "x"}, "attempts_allowed"),
    ({"grade_method": "best"}, "grade_method"),
    ({"grace_period_seconds": "-1"}, "grace_period_seconds"),
    ({"navigation": "backwards"}, "navigation"),
    ({"navigation": "sequential", "questions_per_page": "0"}, "questions_per_page"),
    ({"opens_at": "tomorrow"}, "opens_at"),
    ({"opens_at": "2026-12-01T10:00", "closes_at": "2026-12-01T09:00"}, "closes_at"),
    ({"review_marks": "after_close"}, "review_marks"),                 # after_close needs a close
    ({"review_feedback": "later"}, "review_feedback"),
    ({"review_correctness": ""}, "review_correctness"),                 # every row must have a choice
    ({"rows": []}, "rows"),
    ({"rows": [{"item": "NOPE", "difficulty": "easy", "count": "1", "points": "100"}]}, "rows-0-item"),
    ({"rows": [{"item": "X1", "difficulty": "tricky", "count": "1", "points": "100"}]}, "rows-0-difficulty"),
    ({"rows": [{"item": "X1", "difficulty": "easy", "count": "0", "points": "100"}]}, "rows-0-count"),
    ({"rows": [{"item": "X1", "difficulty": "easy", "count": "1", "points": "0"}]}, "rows-0-points"),
    ({"rows": [{"item": "X1", "difficulty": "easy", "count": "1", "points": "50"}]}, "rows"),  # adds up to 50
    # three easy X1 questions: a row of 2 needs 6 (3 × its count)
    ({"rows": [{"item": "X1", "difficulty": "easy", "count": "2", "points": "50"}]}, "rows-0-count"),
    ({"rows": [{"item": "X1", "difficulty": "easy", "count": "1", "points": "50"},
               {"item": "X1", "difficulty": "easy", "count": "1", "points": "50"}]}, "rows-1-item"),
])
def test_each_bad_field_is_named(db, changes, field):
    make_exam_world()
    spec, errors = editor.validate_exam_spec(form_data(**changes))
    assert spec is None
    assert field in errors, errors
    assert all(isinstance(m, str) and m for messages in errors.values() for m in messages)


def test_a_valid_form_has_no_errors_and_the_pool_rule_is_three_times_the_count(db):
    make_exam_world()
    spec, errors = editor.validate_exam_spec(form_data())
    assert errors == {} and spec.rows[0].count == 1
    # hard X1: none in the bank
    _spec, errors = editor.validate_exam_spec(form_data(rows=[{"item": "X1", "difficulty": "hard", "count": "1",
                                                                "points": "100"}]))
    assert list(errors) == ["rows-0-count"]


def test_save_round_trip_keeps_every_field_and_times_are_local(db):
    make_exam_world()
    exam = make_browser_exam(opens_at="2026-12-01T09:00", closes_at="2026-12-01T17:30", grade_method="average",
                             review_marks="immediately", review_correct_answer="after_close",
                             review_feedback="after_close", shuffle_questions=False, navigation="sequential", questions_per_page="1", grace_period_seconds="45",
                             pass_mark="62.5")
    _db.session.expire_all()
    exam = _db.session.execute(select(Exam).where(Exam.code == "browser-exam")).scalar_one()
    assert exam.managed_by == "browser"
    assert exam.opens_at == utc(2026, 12, 1, 1, 0) and exam.closes_at == utc(2026, 12, 1, 9, 30)  # Asia/Shanghai
    assert (exam.time_limit_seconds, exam.attempts_allowed, exam.grade_method, exam.grace_period_seconds) == \
        (1200, 2, "average", 45)
    assert exam.pass_mark == Decimal("62.50") and exam.course is None
    assert exam.review_rules == {"marks": "immediately", "correctness": "never", "response": "never",
                                 "correct_answer": "after_close", "feedback": "after_close"}
    assert exam.shuffle_questions is False and exam.shuffle_options is True
    assert (exam.navigation, exam.questions_per_page) == ("sequential", 1)
    assert [(r.standard_item.code, r.difficulty, r.count, r.points) for r in exam.blueprint] == \
        [("X1", "easy", 1, Decimal("100.00"))]
    assert editor.local_input(exam.opens_at) == "2026-12-01T09:00"
    # the same form again changes nothing
    spec, errors = editor.validate_exam_spec(form_data(
        opens_at="2026-12-01T09:00", closes_at="2026-12-01T17:30", grade_method="average", review_marks="immediately",
        review_correct_answer="after_close", review_feedback="after_close", shuffle_questions=False, navigation="sequential", questions_per_page="1",
        grace_period_seconds="45", pass_mark="62.5"), exam)
    assert not errors
    assert editor.save_exam(spec, exam)[1] == "unchanged"


def test_after_close_without_a_close_is_refused_per_row_with_the_message(db):
    make_exam_world()
    spec, errors = editor.validate_exam_spec(form_data(review_correct_answer="after_close", review_feedback="after_close"))
    assert spec is None and set(errors) == {"review_correct_answer", "review_feedback"}
    assert errors["review_feedback"] == ["“考试关闭后”需要设置关闭时间。"]  # zh_CN, the default locale
    # with a close it is accepted; a changed matrix is an update of the definition
    exam = make_browser_exam(closes_at="2026-12-01T17:30", review_feedback="after_close")
    spec, errors = editor.validate_exam_spec(form_data(closes_at="2026-12-01T17:30", review_feedback="after_close",
                                                       review_correctness="immediately"), exam)
    assert not errors and editor.save_exam(spec, exam)[1] == "updated"
    assert exam.review_rules["correctness"] == "immediately" and exam.review_rules["feedback"] == "after_close"


def test_pool_sizes_are_one_grouped_query(db):
    make_exam_world()
    from app.standards.models import StandardArea, StandardItem

    item = _db.session.execute(select(StandardItem)).scalar_one()
    area = _db.session.execute(select(StandardArea)).scalar_one()
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(_db.engine, "before_cursor_execute", listener)
    try:
        sizes = editor.pool_sizes([(item.id, None, "easy"), (item.id, None, None), (item.id, None, "hard"),
                                   (None, area.id, None), (None, area.id, "medium")])
    finally:
        event.remove(_db.engine, "before_cursor_execute", listener)
    assert sizes == [3, 3, 0, 3, 0]
    assert len(statements) == 1 and "GROUP BY" in statements[0]
    question = _db.session.execute(select(Question).order_by(Question.id)).scalars().first()
    question.active = False
    _db.session.flush()
    assert editor.pool_sizes([(item.id, None, "easy")]) == [2]
    check, problem = editor.check_pool("X1", "easy", "1")
    assert problem is None and (check.pool, check.needed, check.ok) == (2, 3, False)
    assert editor.check_pool("NOPE", "easy", "1")[0] is None
    assert editor.check_pool("X1", "easy", "lots")[0] is None


# --- networks ---------------------------------------------------------------------------------

def test_cidr_lists_are_parsed_normalised_and_errors_are_per_entry(app, db):
    networks, problems = admission.parse_networks("10.20.0.0/16\n192.168.1.7, 2001:DB8::/32 10.20.0.0/16")
    assert networks == ["10.20.0.0/16", "192.168.1.7/32", "2001:db8::/32"] and problems == []
    networks, problems = admission.parse_networks("10.0.0.1/24\nnot-a-network\n10.0.0.0/33\n2001:db8::1/32")
    assert networks == [] and len(problems) == 4
    with app.test_request_context("/?lang=en"):
        from flask_babel import refresh

        refresh()  # the locale cached by the calls above (default zh_CN) is dropped
        _n, problems = admission.parse_networks("10.0.0.1/24 garbage")
        assert problems[0] == "10.0.0.1/24 has host bits set: did you mean 10.0.0.0/24?"
        assert "garbage is not an IP network" in problems[1]


@pytest.mark.parametrize("networks, address, allowed", [
    (None, "203.0.113.9", True),
    ([], None, True),
    (["10.20.0.0/16"], "10.20.3.4", True),
    (["10.20.0.0/16"], "10.21.0.1", False),
    (["10.20.0.0/16"], "::ffff:10.20.3.4", True),          # IPv4-mapped IPv6
    (["2001:db8::/32"], "2001:db8:1::5", True),
    (["2001:db8::/32"], "2001:db9::5", False),
    (["2001:db8::/32"], "10.20.3.4", False),
    (["10.20.0.0/16"], None, False),
    (["10.20.0.0/16"], "not-an-address", False),
    (["10.20.0.0/16", "fe80::/10"], "fe80::1%eth0", True),  # zone id ignored
])
def test_address_allowed(networks, address, allowed):
    assert admission.address_allowed(networks, address) is allowed


def test_start_is_refused_outside_the_networks_and_accepted_inside(db):
    _course, exam = make_exam_world()
    exam.allowed_networks = ["10.20.0.0/16", "2001:db8::/32"]
    user = make_user()
    for address in ("10.21.0.1", "2001:db9::1", None):
        with pytest.raises(DomainError) as refused:
            start_attempt(user, exam, admission.Admission(remote_addr=address))
        assert refused.value.code == "network" and refused.value.status == 403
    with pytest.raises(DomainError):
        start_attempt(user, exam)  # no admission at all: refused, never let through
    assert _db.session.execute(select(func.count(Attempt.id))).scalar_one() == 0
    assert start_attempt(user, exam, admission.Admission(remote_addr="2001:db8::77")).id
    other = make_user()
    assert start_attempt(other, exam, admission.Admission(remote_addr="10.20.9.9")).id


# --- access code ------------------------------------------------------------------------------

def test_access_code_right_wrong_and_missing(db):
    _course, exam = make_exam_world()
    spec, errors = editor.validate_admission({"access_code": "  Tiger-42 ", "sittings": []}, exam)
    assert not errors
    editor.save_admission(exam, spec)
    assert exam.access_code_hash.startswith("$argon2id$") and "Tiger-42" not in exam.access_code_hash
    user = make_user()
    for wrong in ("tiger-42", "", None, "Tiger-42x"):
        with pytest.raises(DomainError) as refused:
            start_attempt(user, exam, admission.Admission(access_code=wrong))
        assert refused.value.code == "access_code"
    assert start_attempt(user, exam, admission.Admission(access_code="Tiger-42")).id
    # blank keeps the code; clearing removes it
    spec, errors = editor.validate_admission({"access_code": "", "sittings": []}, exam)
    assert editor.save_admission(exam, spec) == [] and exam.access_code_hash
    spec, errors = editor.validate_admission({"access_code": "", "clear_access_code": True, "sittings": []}, exam)
    assert editor.save_admission(exam, spec) == ["access_code"] and exam.access_code_hash is None
    _spec, errors = editor.validate_admission({"access_code": "abc", "sittings": []}, exam)
    assert "access_code" in errors


# --- sittings ---------------------------------------------------------------------------------

def _sitting(exam, capacity, start=None, hours=2):
    start = start or utcnow() - dt.timedelta(minutes=30)
    sitting = ExamSitting(exam_id=exam.id, starts_at=start, ends_at=start + dt.timedelta(hours=hours),
                          capacity=capacity)
    _db.session.add(sitting)
    _db.session.flush()
    return sitting


def test_sitting_rules_and_the_end_cuts_the_deadline(db):
    _course, exam = make_exam_world(time_limit_minutes=120)
    later = _sitting(exam, 5, start=utcnow() + dt.timedelta(days=1))
    now_running = _sitting(exam, 1, hours=1)
    user = make_user()
    for ticket, code in ((admission.Admission(), "sitting_required"),
                         (admission.Admission(sitting_id=later.id), "sitting_closed"),
                         (admission.Admission(sitting_id=999999), "sitting_closed")):
        with pytest.raises(DomainError) as refused:
            start_attempt(user, exam, ticket)
        assert refused.value.code == code
    attempt = start_attempt(user, exam, admission.Admission(sitting_id=now_running.id))
    assert attempt.sitting_id == now_running.id
    assert attempt.deadline_at == now_running.ends_at  # 30 minutes left of the sitting, not 120
    _db.session.refresh(now_running)
    assert now_running.seats_taken == 1
    with pytest.raises(DomainError) as refused:
        start_attempt(make_user(), exam, admission.Admission(sitting_id=now_running.id))
    assert refused.value.code == "sitting_full"


def test_capacity_cannot_drop_below_seats_taken_nor_a_used_sitting_be_removed(db):
    _course, exam = make_exam_world()
    sitting = _sitting(exam, 3)
    start_attempt(make_user(), exam, admission.Admission(sitting_id=sitting.id))
    _db.session.refresh(sitting)
    local = {"sitting_id": str(sitting.id), "starts_at": editor.local_input(sitting.starts_at),
             "ends_at": editor.local_input(sitting.ends_at), "capacity": "0"}
    _spec, errors = editor.validate_admission({"sittings": [local]}, exam)
    assert "sittings-0-capacity" in errors
    _spec, errors = editor.validate_admission({"sittings": [dict(local, capacity="1")]}, exam)
    assert not errors
    _spec, errors = editor.validate_admission({"sittings": []}, exam)
    assert "sittings" in errors
    _spec, errors = editor.validate_admission({"sittings": [dict(local, ends_at=local["starts_at"])]}, exam)
    assert "sittings-0-ends_at" in errors


@pytest.mark.parametrize("capacity, candidates", [(3, 8)])
def test_concurrent_starts_never_exceed_the_capacity(app, db, capacity, candidates):
    """Real threads, each with its own connection, start at once; the conditional UPDATE decides."""
    _course, exam = make_exam_world()
    sitting = _sitting(exam, capacity)
    department = make_department()
    user_ids = [make_user(department).id for _ in range(candidates)]
    _db.session.commit()
    exam_id, sitting_id = exam.id, sitting.id
    barrier = threading.Barrier(candidates)
    outcomes = []

    def candidate(user_id):
        with app.app_context():
            try:
                user = _db.session.get(User, user_id)
                mine = _db.session.get(Exam, exam_id)
                barrier.wait(30)
                start_attempt(user, mine, admission.Admission(sitting_id=sitting_id))
                _db.session.commit()
                outcomes.append("started")
            except DomainError as refused:
                _db.session.rollback()
                outcomes.append(refused.code)
            except Exception as error:  # noqa: BLE001  (reported below, not swallowed)
                _db.session.rollback()
                outcomes.append(f"error {type(error).__name__}: {error}")
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=candidate, args=(uid,)) for uid in user_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == sorted(["started"] * capacity + ["sitting_full"] * (candidates - capacity)), outcomes
    _db.session.expire_all()
    assert _db.session.get(ExamSitting, sitting_id).seats_taken == capacity
    assert _db.session.execute(select(func.count(Attempt.id)).where(Attempt.sitting_id == sitting_id)).scalar_one() \
        == capacity


def test_take_seat_is_one_conditional_update(db):
    _course, exam = make_exam_world()
    sitting = _sitting(exam, 2)
    now = utcnow()
    assert admission.take_seat(sitting.id, exam.id, now) and admission.take_seat(sitting.id, exam.id, now)
    assert not admission.take_seat(sitting.id, exam.id, now)
    assert not admission.take_seat(sitting.id, exam.id + 1, now)  # another exam's sitting
    _db.session.refresh(sitting)
    assert sitting.seats_taken == 2


# --- editing never moves attempts in progress ------------------------------------------------------

def test_editing_an_exam_keeps_an_in_progress_attempts_deadline_and_form(db):
    make_exam_world()
    with time_machine.travel(utc(2026, 12, 1, 2, 0), tick=False):
        exam = make_browser_exam()
        attempt = start_attempt(make_user(), exam)
        _db.session.commit()
        deadline, grace = attempt.deadline_at, attempt.grace_period_seconds
        form = [(i.position, i.question_version_id, i.points, list(i.option_order)) for i in attempt.items]
        spec, errors = editor.validate_exam_spec(form_data(time_limit_minutes="5", grace_period_seconds="600",
                                                           closes_at="2026-12-01T10:05",
                                                           rows=[{"item": "X1", "difficulty": "any", "count": "1",
                                                                  "points": "100"}]), exam)
        assert not errors
        assert editor.save_exam(spec, exam)[1] == "updated"
        _db.session.commit()
        _db.session.expire_all()
        again = _db.session.get(Attempt, attempt.id)
        assert (again.deadline_at, again.grace_period_seconds) == (deadline, grace)
        assert [(i.position, i.question_version_id, i.points, list(i.option_order)) for i in again.items] == form
        assert again.exam.time_limit_seconds == 300 and again.exam.blueprint[0].difficulty is None
        # paging and navigation are read live by the attempt pages: not while attempts are in progress
        _spec, errors = editor.validate_exam_spec(form_data(navigation="sequential", questions_per_page="1"), again.exam)
        assert "navigation" in errors and "questions_per_page" in errors
        item = again.items[0]
        save_answer(again, item.position, right_response(item), 0)
        assert finish_attempt(again, by="candidate")
        assert again.score == Decimal("100.00")


def test_content_sync_refuses_to_overwrite_a_browser_exam(db):
    course, exam = make_exam_world()
    exam.managed_by = "browser"
    _db.session.flush()
    with pytest.raises(ContentError) as refused:
        sync_course_exam(course, {"title": ("测试考试", "Test exam"), "time_limit_minutes": 10,
                                  "blueprint": [{"item": "X1", "difficulty": "easy", "count": 1, "points": 100}]},
                         "courses/test-course/course.yaml", SyncReport())
    assert "courses/test-course/course.yaml" in refused.value.errors[0] and "browser" in refused.value.errors[0]
    _db.session.refresh(exam)
    assert exam.time_limit_seconds == 1800


def test_content_sync_reads_grade_method_and_shuffles(db):
    course, exam = make_exam_world()
    block = {"title": ("测试考试", "Test exam"), "time_limit_minutes": 30, "grade_method": "last",
             "shuffle_questions": False, "shuffle_options": False,
             "blueprint": [{"item": "X1", "difficulty": "easy", "count": 2, "points": 30},
                           {"item": "X1", "difficulty": "easy", "count": 1, "points": 40}]}
    synced = sync_course_exam(course, block, "tests", SyncReport())
    assert (synced.grade_method, synced.shuffle_questions, synced.shuffle_options, synced.managed_by) == \
        ("last", False, False, "file")
    with pytest.raises(ContentError) as refused:
        sync_course_exam(course, dict(block, grade_method="best"), "courses/t/course.yaml", SyncReport())
    assert any("field 'grade_method' must be one of highest, last, first, average" in e for e in refused.value.errors)


def test_unshuffled_forms_keep_the_blueprint_order(db):
    make_exam_world()
    exam = make_browser_exam(shuffle_questions=False, rows=[
        {"item": "X1", "difficulty": "easy", "count": "1", "points": "40"},
        {"item": "X1", "difficulty": "any", "count": "1", "points": "60"}])
    for _ in range(4):
        attempt = start_attempt(make_user(), exam)
        assert [i.points for i in attempt.items] == [Decimal("40.00"), Decimal("60.00")]


def test_a_course_without_another_exam_can_be_chosen(db):
    _course, file_exam = make_exam_world()
    file_exam.active = False
    _db.session.flush()
    exam = make_browser_exam(course="test-course")
    assert exam.course.slug == "test-course"
    from app.learning.queries import exam_state

    assert exam_state(make_user(), exam.course)["exam"].code == "browser-exam"  # the course page's exam


# --- how many distinct forms ----------------------------------------------------------------------

def test_distinct_forms_is_the_product_of_binomials_and_reads_well(app):
    # by hand: C(10,3) = 120, C(6,2) = 15 -> 1,800; C(25,5) = 53,130, C(12,2) = 66 -> 3,506,580
    assert editor.distinct_forms([(10, 3), (6, 2)]) == 1800
    assert editor.distinct_forms([(25, 5), (12, 2)]) == 3_506_580
    assert editor.distinct_forms([(2, 3)]) == 0 and editor.distinct_forms([]) == 1
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("en"):
        assert editor.FormCount(1800).readable() == "1,800"
        assert editor.FormCount(999_999).readable() == "999,999"
        assert editor.FormCount(3_506_580).readable() == "more than 10⁶"
        assert editor.FormCount(1_000_000).readable() == "more than 10⁵"  # 10^k strictly below the count
        assert editor.FormCount(10 ** 40 + 1).readable() == "more than 10⁴⁰"
        assert not editor.FormCount(1800).few and editor.FormCount(19).few and not editor.FormCount(20).few
        assert "Fewer than 20" in editor.FormCount(19).message()
        assert "at most" in editor.FormCount(1800, overlap=True).message()
        assert "No form" in editor.FormCount(0).message()
    with app.test_request_context(), force_locale("zh_Hans_CN"):
        assert editor.FormCount(3_506_580).readable() == "超过 10⁶ 种"


def test_count_forms_from_the_bank_and_overlapping_rows(db):
    make_exam_world()  # item X1 of area X: three easy questions
    from app.standards.models import StandardArea, StandardItem

    item = _db.session.execute(select(StandardItem)).scalar_one()
    area = _db.session.execute(select(StandardArea)).scalar_one()
    one = editor.count_forms([(item.id, None, "easy", 2)])
    assert (one.forms, one.overlap, one.few) == (3, False, True)  # C(3,2)
    both = editor.count_forms([(item.id, None, "easy", 1), (item.id, None, None, 1)])
    assert (both.forms, both.overlap) == (9, True)  # 3 × 3, an upper bound: the true number is C(3,2) = 3
    assert editor.count_forms([(item.id, None, "easy", 1), (item.id, None, "hard", 1)]).overlap is False
    assert editor.rows_overlap([(item.id, None, "easy"), (None, area.id, None)])
    assert not editor.rows_overlap([(item.id, None, "easy"), (None, area.id, "hard")])
    count, problem = editor.check_forms(["X1", "X1"], ["easy", "hard"], ["1", "1"])
    assert problem is None and count.forms == 0
    assert editor.check_forms(["X1"], ["easy"], [])[0] is None
    assert editor.check_forms(["NOPE"], ["easy"], ["1"])[0] is None
