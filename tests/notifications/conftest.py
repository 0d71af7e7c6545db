"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the notification tests, and a small world of learners.

    滨江市 (CITY)  officer: 市长办 (locale zh_CN)
    └── 市财政局 (A)  officer OFF-A (locale en)
        └── 办公室 (A-OFF): 张三 (zh_CN, e-mail), Alice (en, e-mail), 李四 (no e-mail)
    └── 市交通局 (B): 王五 (zh_CN, e-mail)

Every learner is enrolled in the test course, due 2026-12-10 (a Thursday; Asia/Shanghai).
"""
from __future__ import annotations

import datetime as dt
import email
import socket
import threading
from email import policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from app.learning.models import Enrolment
from tests.factories import make_department, make_exam_world, make_user

BASE_URL = "https://training.example.gov.cn"
DUE = dt.date(2026, 12, 10)


class Inbox:
    """aiosmtpd handler keeping every accepted message as an ``email.message.EmailMessage``."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list:
        """Messages addressed to ``address``."""
        return [m for m in self.messages if m["To"] == address]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture()
def smtp(app):
    """Start an SMTP server on a free local port and point MAIL_* and PUBLIC_BASE_URL at it; yields the Inbox."""
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    saved = {key: app.config.get(key) for key in ("MAIL_SERVER", "MAIL_PORT", "MAIL_FROM", "PUBLIC_BASE_URL")}
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_FROM="training@example.gov.cn",
                      PUBLIC_BASE_URL=BASE_URL)
    try:
        yield inbox
    finally:
        controller.stop()
        app.config.update(saved)


@pytest.fixture()
def learners(db):
    """The tree above with its people, the course, and enrolments due on DUE; committed."""
    city = make_department("滨江市", code="CITY")
    a = make_department("市财政局", city, code="A")
    a_off = make_department("办公室", a, code="A-OFF")
    b = make_department("市交通局", city, code="B")
    course, exam = make_exam_world()
    zh = make_user(a_off, name="张三", staff_number="L-ZH")
    zh.email = "zhang@example.gov.cn"
    en = make_user(a_off, name="Alice", staff_number="L-EN")
    en.email, en.locale = "alice@example.gov.cn", "en"
    nomail = make_user(a_off, name="李四", staff_number="L-NOMAIL")
    other = make_user(b, name="王五", staff_number="L-B")
    other.email = "wang@example.gov.cn"
    officer_a = make_user(a, name="Officer A", staff_number="OFF-A", officer_of=[a])
    officer_a.email, officer_a.locale = "officer.a@example.gov.cn", "en"
    officer_city = make_user(city, name="市长办", staff_number="OFF-CITY", officer_of=[city])
    officer_city.email = "city@example.gov.cn"
    for person in (zh, en, nomail, other):
        db.session.add(Enrolment(user_id=person.id, course_id=course.id, source="plan", due_on=DUE))
    db.session.commit()
    return {"zh": zh, "en": en, "nomail": nomail, "other": other, "officer_a": officer_a,
            "officer_city": officer_city, "course": course, "exam": exam, "city": city, "a": a, "a_off": a_off, "b": b}


def enrolment_of(db, user):
    """The user's enrolment in the test course."""
    return db.session.execute(select(Enrolment).where(Enrolment.user_id == user.id)).scalar_one()
