"""Finishing is exactly-once even when the candidate, a late request and the scheduler race."""
import threading

from app.exams.models import Attempt
from app.exams.services import finish_attempt, save_answer, start_attempt
from app.extensions import db as _db
from tests.factories import make_exam_world, make_user, right_response


def test_concurrent_finishers_grade_once(app, db):
    course, exam = make_exam_world()
    attempt = start_attempt(make_user(), exam)
    for item in attempt.items:
        save_answer(attempt, item.position, right_response(item), 0)
    db.session.commit()
    attempt_id = attempt.id
    barrier = threading.Barrier(4)
    winners = []

    def finisher(by):
        with app.app_context():
            mine = _db.session.get(Attempt, attempt_id)
            barrier.wait()
            if finish_attempt(mine, by=by):
                winners.append(by)
            _db.session.commit()
            _db.session.remove()

    threads = [threading.Thread(target=finisher, args=(by,)) for by in ("candidate", "deadline", "scheduler", "candidate")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(winners) == 1
    db.session.expire_all()
    done = db.session.get(Attempt, attempt_id)
    assert done.state == "finished" and done.finished_by == winners[0] and float(done.score) == 100.0


def test_answer_racing_a_finish_is_either_graded_or_refused(app, db):
    """An autosave and a submit at the same moment: the answer is graded, or the save is refused."""
    from app.core.errors import DomainError

    course, exam = make_exam_world()
    attempt = start_attempt(make_user(), exam)
    db.session.commit()
    attempt_id = attempt.id
    positions = [(i.position, right_response(i)) for i in attempt.items]
    barrier = threading.Barrier(2)
    outcome = {}

    def saver():
        with app.app_context():
            mine = _db.session.get(Attempt, attempt_id)
            barrier.wait()
            try:
                for position, response in positions:
                    save_answer(mine, position, response, 0)
                    _db.session.commit()
                outcome["save"] = "saved"
            except DomainError:
                outcome["save"] = "refused"
            _db.session.remove()

    def finisher():
        with app.app_context():
            mine = _db.session.get(Attempt, attempt_id)
            barrier.wait()
            finish_attempt(mine, by="candidate")
            _db.session.commit()
            _db.session.remove()

    threads = [threading.Thread(target=saver), threading.Thread(target=finisher)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    db.session.expire_all()
    done = db.session.get(Attempt, attempt_id)
    stored = {i.position: i.response for i in done.items}
    graded = {i.position: float(i.fraction) for i in done.items}
    for position, _response in positions:
        if stored[position] is not None:
            assert graded[position] == 1.0, "an answer stored after grading would be lost"
    assert outcome["save"] in ("saved", "refused")


def test_two_saves_from_the_same_revision_at_once_one_is_stored_the_other_conflicts(app, db):
    """Two windows send different answers based on the same revision at the same moment: exactly one
    is stored (revision 1) and the other gets a conflict naming it — never two silent writes."""
    from app.exams.services import SaveConflict
    from tests.factories import wrong_response

    course, exam = make_exam_world()
    attempt = start_attempt(make_user(), exam)
    db.session.commit()
    attempt_id, item = attempt.id, attempt.items[0]
    position, responses = item.position, [right_response(item), wrong_response(item)]
    barrier = threading.Barrier(2)
    outcomes = []

    def saver(response):
        with app.app_context():
            mine = _db.session.get(Attempt, attempt_id)
            barrier.wait()
            try:
                save_answer(mine, position, response, 0)
                _db.session.commit()
                outcomes.append("saved")
            except SaveConflict as conflict:
                _db.session.rollback()
                outcomes.append(("conflict", conflict.revision))
            _db.session.remove()

    threads = [threading.Thread(target=saver, args=(r,)) for r in responses]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes, key=str) == sorted(["saved", ("conflict", 1)], key=str)
    db.session.expire_all()
    stored = db.session.get(Attempt, attempt_id).items[0]
    assert stored.revision == 1 and stored.response is not None
