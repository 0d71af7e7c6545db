"""The e-mail sender: after commit only, each row claimed once, failures retried, old rows given up."""
from __future__ import annotations

import datetime as dt
import threading

import time_machine
from sqlalchemy import select

from app.extensions import db as _db
from app.notifications.models import EMAIL, IN_APP, Message
from app.notifications.services import queue, send_pending
from tests.factories import make_user, utc
from tests.notifications.conftest import _free_port


def _people(db, n: int, locale: str | None = None):
    people = []
    for i in range(n):
        person = make_user(name=f"收件人{i}")
        person.email, person.locale = f"person{i}@example.gov.cn", locale
        people.append(person)
    db.session.flush()
    return people


def _manual(person, key="2026-12-03"):
    officer = person  # any sender will do for the template
    return queue(person, "manual", key, link="https://training.example.gov.cn/courses/", sender=officer,
                 plan=type("P", (), {"tr": lambda self, f: "测试计划"})(), courses=[])


def test_queue_is_a_no_op_for_the_same_event_and_nothing_is_mailed_before_commit(app, db, smtp):
    (person,) = _people(db, 1)
    assert _manual(person) is True
    assert _manual(person) is False  # same recipient, kind and event
    assert _manual(person, "2026-12-04") is True
    if db.engine.dialect.name == "postgresql":  # SQLite: a second writer would wait for this transaction
        # not committed yet: another session (the sender process) sees nothing
        with app.app_context():
            assert send_pending().sent == 0
            _db.session.remove()
    db.session.rollback()
    with app.app_context():
        assert send_pending().sent == 0
    assert smtp.messages == []
    assert db.session.execute(select(Message)).first() is None


def test_two_senders_at_once_mail_each_message_once(app, db, smtp):
    people = _people(db, 12)
    for person in people:
        _manual(person)
    db.session.commit()
    barrier = threading.Barrier(2)
    reports = []

    def sender():
        with app.app_context():
            barrier.wait()
            reports.append(send_pending())
            _db.session.remove()

    with time_machine.travel(utc(2026, 12, 3, 1, 0), tick=False):
        threads = [threading.Thread(target=sender) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sum(r.sent for r in reports) == 12
    assert sorted(m["To"] for m in smtp.messages) == sorted(p.email for p in people)
    db.session.expire_all()
    rows = db.session.execute(select(Message).where(Message.channel == EMAIL)).scalars().all()
    assert all(r.sent_at is not None and r.attempts == 1 for r in rows)
    with app.app_context():
        assert send_pending().sent == 0
    assert len(smtp.messages) == 12


def test_a_failed_send_is_kept_and_retried(app, db, smtp):
    (person,) = _people(db, 1, locale="en")
    _manual(person)
    db.session.commit()
    port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = _free_port()  # nobody listens there
    try:
        report = send_pending()
    finally:
        app.config["MAIL_PORT"] = port
    assert (report.sent, report.failed) == (0, 1)
    db.session.expire_all()
    row = db.session.execute(select(Message).where(Message.channel == EMAIL)).scalar_one()
    assert row.sent_at is None and row.attempts == 1 and row.claimed_at is None
    assert "ConnectionRefusedError" in row.error
    assert send_pending().sent == 1
    (mail,) = smtp.messages
    assert mail["Subject"].startswith("Reminder from")
    db.session.expire_all()
    row = db.session.get(Message, row.id)
    assert row.sent_at is not None and row.error is None and row.attempts == 2


def test_old_unsent_mail_is_given_up_and_in_app_notices_stay(app, db, smtp):
    (person,) = _people(db, 1)
    with time_machine.travel(utc(2026, 12, 1, 1, 0), tick=False):
        _manual(person)
        db.session.commit()
    with time_machine.travel(utc(2026, 12, 4, 2, 0), tick=False):  # 73 hours later
        report = send_pending()
    assert (report.sent, report.expired) == (0, 1)
    assert smtp.messages == []
    db.session.expire_all()
    row = db.session.execute(select(Message).where(Message.channel == EMAIL)).scalar_one()
    assert row.error == "expired" and row.sent_at is None
    notice = db.session.execute(select(Message).where(Message.channel == IN_APP)).scalar_one()
    assert notice.sent_at is not None


def test_without_a_mail_server_nothing_is_sent(app, db):
    (person,) = _people(db, 1)
    _manual(person)
    db.session.commit()
    assert app.config["MAIL_SERVER"] == ""
    assert send_pending().sent == 0
    db.session.expire_all()
    assert db.session.execute(select(Message.sent_at).where(Message.channel == EMAIL)).scalar_one() is None


def test_a_claimed_row_is_left_to_its_claimant_until_the_claim_expires(app, db, smtp):
    (person,) = _people(db, 1)
    with time_machine.travel(utc(2026, 12, 3, 1, 0), tick=False):
        _manual(person)
        db.session.commit()
        row = db.session.execute(select(Message).where(Message.channel == EMAIL)).scalar_one()
        row.claimed_at = utc(2026, 12, 3, 1, 0)  # another sender took it and is talking to the server
        db.session.commit()
        assert send_pending().sent == 0
    with time_machine.travel(utc(2026, 12, 3, 1, 11), tick=False):  # 11 minutes: the claim has lapsed
        assert send_pending().sent == 1
    assert len(smtp.messages) == 1
    assert dt.timedelta(minutes=10).total_seconds() == app.config["MAIL_CLAIM_SECONDS"]


def test_queue_many_skips_what_is_already_queued(app, db):
    from app.notifications.services import queue_many

    people = _people(db, 3, locale="en")
    plan = type("P", (), {"tr": lambda self, f: "Plan"})()
    entries = [(p, "manual", "2026-12-03", {"sender": people[0], "plan": plan, "courses": []}) for p in people]
    assert _manual(people[0]) is True  # one of them queued one by one before
    assert queue_many(entries) == 2
    assert queue_many(entries) == 0
    db.session.commit()
    rows = db.session.execute(select(Message.recipient_id, Message.channel)).all()
    assert len(rows) == 6  # an in-app notice and an e-mail each, once
    assert {r.subject for r in db.session.execute(select(Message)).scalars()} == {"Reminder from 收件人0: Plan",
                                                                                   "Reminder from 收件人0: 测试计划"}
