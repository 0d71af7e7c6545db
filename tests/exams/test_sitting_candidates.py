"""Sittings with assigned candidates: assigning by staff numbers and department subtree (all or
nothing, seats taken at assignment, refused beyond capacity), removing, the start rule for assigned
and unassigned people, the audit trail, and the editor's and candidate's pages."""
import datetime as dt

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.core.errors import DomainError
from app.core.time import utcnow
from app.exams import admission
from app.exams.admission import Admission, assign_candidates, parse_staff_numbers, remove_candidates
from app.exams.models import ExamSitting, ExamSittingCandidate
from app.exams.services import start_attempt
from app.extensions import db as _db
from tests.factories import csrf_token, make_department, make_exam_world, make_user


def sitting(exam, capacity, *, hours_from_now=-0.5, length=2, name="") -> ExamSitting:
    start = utcnow() + dt.timedelta(hours=hours_from_now)
    row = ExamSitting(exam_id=exam.id, starts_at=start, ends_at=start + dt.timedelta(hours=length), capacity=capacity,
                      name=name)
    _db.session.add(row)
    _db.session.flush()
    return row


def seats(row: ExamSitting) -> int:
    return _db.session.execute(select(ExamSitting.seats_taken).where(ExamSitting.id == row.id)).scalar_one()


@pytest.fixture()
def world(db):
    _course, exam = make_exam_world(time_limit_minutes=120)
    city = make_department("滨江市")
    bureau = make_department("市财政局", city)
    office = make_department("办公室", bureau)
    other = make_department("市教育局", city)
    people = {"a": make_user(bureau, staff_number="A001"), "b": make_user(office, staff_number="B002"),
              "c": make_user(other, staff_number="C003"), "gone": make_user(bureau, staff_number="G004", active=False)}
    examiner = make_user(city, is_examiner=True)
    _db.session.commit()
    return exam, people, bureau, examiner


def test_parse_staff_numbers():
    assert parse_staff_numbers(" A001\nB002, C003；A001\t D004、E005\n\n") == ["A001", "B002", "C003", "D004", "E005"]
    assert parse_staff_numbers("") == []
    with pytest.raises(DomainError) as refused:
        parse_staff_numbers(" ".join(f"N{i}" for i in range(admission.MAX_STAFF_NUMBERS + 1)))
    assert refused.value.code == "too_many"


def test_assign_by_numbers_and_subtree_takes_seats_and_is_audited(world):
    exam, people, bureau, examiner = world
    room = sitting(exam, 5, name="第一考场")
    result = assign_candidates(room, ["C003"], bureau.id, examiner.id)  # C003 + the bureau's A001 and B002 (office)
    assert sorted(result.added) == ["A001", "B002", "C003"] and result.already == 0
    assert seats(room) == 3  # the inactive G004 is not assigned
    again = assign_candidates(room, ["A001"], None, examiner.id)
    assert (again.added, again.already) == ([], 1) and seats(room) == 3
    assert [c.staff_number for c in admission.sitting_candidates(room.id)] == ["A001", "B002", "C003"]
    assert admission.assigned_counts(exam.id) == {room.id: 3}
    event = _db.session.execute(select(AuditEvent).where(AuditEvent.action == "exam.sitting_assign")).scalar_one()
    assert event.actor_id == examiner.id and event.target == f"exam:{exam.id}" and event.detail["added"] == 3


@pytest.mark.parametrize("numbers, department, code", [
    ([], None, "nothing_to_assign"),
    (["A001", "NOPE"], None, "unknown_staff"),
    (["G004"], None, "unknown_staff"),        # inactive
    (["A001"], 999999, "unknown_department"),
])
def test_bad_input_names_the_problem_and_changes_nothing(world, numbers, department, code):
    exam, _people, _bureau, examiner = world
    room = sitting(exam, 5)
    with pytest.raises(DomainError) as refused:
        assign_candidates(room, numbers, department, examiner.id)
    assert refused.value.code == code
    if code == "unknown_staff":
        assert "NOPE" in refused.value.message or "G004" in refused.value.message
    assert seats(room) == 0 and _db.session.execute(select(func.count(ExamSittingCandidate.id))).scalar_one() == 0


def test_assignment_beyond_capacity_is_refused_whole(world):
    exam, _people, bureau, examiner = world
    room = sitting(exam, 2)
    assign_candidates(room, ["C003"], None, examiner.id)
    with pytest.raises(DomainError) as refused:
        assign_candidates(room, [], bureau.id, examiner.id)  # A001 and B002: 2 people, 1 seat free
    assert refused.value.code == "sitting_full" and refused.value.status == 409
    assert "1" in refused.value.message and "2" in refused.value.message  # 1 free of 2; 2 to assign
    assert seats(room) == 1
    assert [c.staff_number for c in admission.sitting_candidates(room.id)] == ["C003"]


def test_one_sitting_per_person_per_exam(world):
    exam, _people, _bureau, examiner = world
    morning, afternoon = sitting(exam, 5), sitting(exam, 5, hours_from_now=4)
    assign_candidates(morning, ["A001"], None, examiner.id)
    with pytest.raises(DomainError) as refused:
        assign_candidates(afternoon, ["B002", "A001"], None, examiner.id)
    assert refused.value.code == "assigned_elsewhere" and "A001" in refused.value.message
    assert seats(afternoon) == 0


def test_assigned_people_start_only_in_their_sitting_without_another_seat(world):
    exam, people, _bureau, examiner = world
    running = sitting(exam, 2)
    later = sitting(exam, 2, hours_from_now=5, name="301")
    assign_candidates(later, ["A001"], None, examiner.id)
    assign_candidates(running, ["B002"], None, examiner.id)
    # A001 belongs to the later sitting: not now, and not in the running one either
    for ticket, code in ((Admission(), "sitting_closed"), (Admission(sitting_id=later.id), "sitting_closed"),
                         (Admission(sitting_id=running.id), "sitting_assigned")):
        with pytest.raises(DomainError) as refused:
            start_attempt(people["a"], exam, ticket)
        assert refused.value.code == code
    assert "301" in refused.value.message
    # B002 starts in their running sitting (no choice needed) and takes no second seat
    attempt = start_attempt(people["b"], exam, Admission())
    assert attempt.sitting_id == running.id and attempt.deadline_at == running.ends_at and seats(running) == 1
    # the one free seat of the running sitting goes to the first unassigned person; then it is full
    start_attempt(people["c"], exam, Admission(sitting_id=running.id))
    assert seats(running) == 2
    with pytest.raises(DomainError) as refused:
        start_attempt(make_user(), exam, Admission(sitting_id=running.id))
    assert refused.value.code == "sitting_full"


def test_assigned_seats_are_kept_from_walk_ins(world):
    exam, people, _bureau, examiner = world
    room = sitting(exam, 1)
    assign_candidates(room, ["A001"], None, examiner.id)
    with pytest.raises(DomainError) as refused:
        start_attempt(people["c"], exam, Admission(sitting_id=room.id))
    assert refused.value.code == "sitting_full"
    assert start_attempt(people["a"], exam, Admission(sitting_id=room.id)).sitting_id == room.id


def test_remove_frees_seats_but_not_of_people_who_started(world):
    exam, people, bureau, examiner = world
    room = sitting(exam, 5)
    assign_candidates(room, [], bureau.id, examiner.id)   # A001, B002
    start_attempt(people["a"], exam, Admission())
    with pytest.raises(DomainError) as refused:
        remove_candidates(room, [people["a"].id, people["b"].id], examiner.id)
    assert refused.value.code == "started" and "A001" in refused.value.message and seats(room) == 2
    with pytest.raises(DomainError) as refused:
        remove_candidates(room, [people["c"].id], examiner.id)
    assert refused.value.code == "not_assigned"
    assert remove_candidates(room, [people["b"].id], examiner.id) == 1
    assert seats(room) == 1 and [c.staff_number for c in admission.sitting_candidates(room.id)] == ["A001"]
    assert _db.session.execute(select(AuditEvent.detail).where(AuditEvent.action == "exam.sitting_unassign")) \
        .scalar_one()["staff_numbers"] == ["B002"]
    # the unassigned B002 now follows the first-come rule
    assert start_attempt(people["b"], exam, Admission(sitting_id=room.id)).sitting_id == room.id and seats(room) == 2


# --- pages ------------------------------------------------------------------------------------------

def test_sitting_candidates_pages(app, world, client, login_as):
    exam, people, bureau, examiner = world
    room = sitting(exam, 3, hours_from_now=24, name="三楼 301")
    _db.session.commit()
    login_as(examiner)
    url = f"/admin/exams/{exam.code}/sittings/{room.id}"
    page = client.get(url + "?lang=en").get_data(as_text=True)
    assert 'id="no-candidates"' in page and "三楼 301" in page
    token = csrf_token(client, url)
    response = client.post(url, data={"csrf_token": token, "action": "assign", "staff_numbers": "A001\nC003\n",
                                      "department": ""})
    assert response.status_code == 302
    page = client.get(url + "?lang=en").get_data(as_text=True)
    assert "A001" in page and "C003" in page and "B002" not in page
    refused = client.post(url + "?lang=en", data={"csrf_token": token, "action": "assign", "staff_numbers": "",
                                                  "department": str(bureau.id)})  # A001 (already) + B002: 1 new, 1 free
    assert refused.status_code == 302
    refused = client.post(url + "?lang=en", data={"csrf_token": token, "action": "assign", "staff_numbers": "ZZZ9"})
    assert refused.status_code == 400 and "ZZZ9" in refused.get_data(as_text=True)
    response = client.post(url, data={"csrf_token": token, "action": "remove", "user_id": [str(people["c"].id)]})
    assert response.status_code == 302
    _db.session.expire_all()
    assert [c.staff_number for c in admission.sitting_candidates(room.id)] == ["A001", "B002"]
    assert _db.session.get(ExamSitting, room.id).seats_taken == 2
    edit = client.get(f"/admin/exams/{exam.code}/edit?lang=en").get_data(as_text=True)
    assert "2 assigned" in edit and url in edit
    assert client.get(f"/admin/exams/{exam.code}/sittings/999999").status_code == 404
    # the candidate sees their sitting (time and place) before starting, and no start button yet
    client.post("/logout", data={"csrf_token": token})
    login_as(people["a"])
    page = client.get(f"/exams/{exam.code}?lang=en").get_data(as_text=True)
    assert 'id="my-sitting"' in page and "三楼 301" in page and 'id="my-sitting-not-now"' in page
    assert "Start the exam" not in page


def test_a_learner_cannot_assign(app, world, client, login_as):
    exam, people, _bureau, _examiner = world
    room = sitting(exam, 3)
    _db.session.commit()
    login_as(people["a"])
    url = f"/admin/exams/{exam.code}/sittings/{room.id}"
    assert client.get(url).status_code == 403
    token = csrf_token(client, "/courses/")
    assert client.post(url, data={"csrf_token": token, "action": "assign", "staff_numbers": "A001"}).status_code == 403
    assert seats(room) == 0
