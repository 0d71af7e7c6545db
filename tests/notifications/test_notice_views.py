"""The notices page and bell, and the officer's "send a reminder" on the drill-down (scoped, audited, once a day)."""
from __future__ import annotations

import datetime as dt
import re

import time_machine
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.certification.models import Certification
from app.notifications.models import EMAIL, IN_APP, Message
from app.notifications.services import queue
from app.rollout.models import Milestone, RolloutPlan
from tests.factories import csrf_token, make_user, utc
from tests.notifications.conftest import DUE


def _plan(db, learners):
    cert = Certification(code="TEST-CERT", title_zh="测试证书", title_en="Test certificate", courses=[learners["course"]])
    db.session.add(cert)
    db.session.flush()
    plan = RolloutPlan(name_zh="数字技能计划", name_en="Digital skills plan", certification_id=cert.id,
                       starts_on=dt.date(2026, 9, 1), ends_on=DUE, audience=[learners["city"]],
                       milestones=[Milestone(due_on=DUE, target_percent=100)])
    db.session.add(plan)
    for person in ("zh", "en", "nomail", "other"):
        learners[person].created_at = utc(2026, 11, 1)  # on staff before the frozen days below
    db.session.commit()
    return plan


def _messages(db, **where):
    db.session.expire_all()
    query = select(Message).order_by(Message.id)
    for key, value in where.items():
        query = query.where(getattr(Message, key) == value)
    return db.session.execute(query).scalars().all()


def test_notices_page_lists_only_my_notices_and_marks_them_read(app, db, client, login_as, learners):
    plan = _plan(db, learners)
    officer = learners["officer_a"]
    queue(learners["en"], "manual", "2026-12-03", link="https://training.example.gov.cn/courses/", sender=officer,
          plan=plan, courses=[{"course": learners["course"], "due_on": DUE}])
    queue(learners["zh"], "manual", "2026-12-03", link=None, sender=officer, plan=plan, courses=[])
    db.session.commit()
    login_as(learners["en"])
    page = client.get("/notices?lang=en").get_data(as_text=True)
    assert "Reminder from Officer A: Digital skills plan" in page
    assert "- Test course, due 2026-12-10" in page
    assert "张三" not in page  # someone else's notice
    assert re.search(r'class="bell"[^>]*>.*?<span class="count">1</span>', page, re.S)
    mine = _messages(db, recipient_id=learners["en"].id, channel=IN_APP)[0]
    other = _messages(db, recipient_id=learners["zh"].id, channel=IN_APP)[0]
    token = csrf_token(client, "/notices")
    assert client.post(f"/notices/{other.id}/read", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/notices/{mine.id}/read").status_code == 400  # no CSRF token
    assert client.post(f"/notices/{mine.id}/read", data={"csrf_token": token}).status_code == 302
    assert _messages(db, id=mine.id)[0].read_at is not None
    assert _messages(db, id=other.id)[0].read_at is None
    page = client.get("/notices?lang=en").get_data(as_text=True)
    assert '<span class="count">' not in page and "Mark as read" not in page


def test_notices_page_in_chinese_and_empty(app, db, client, login_as, learners):
    login_as(learners["zh"])
    page = client.get("/notices?lang=zh_CN").get_data(as_text=True)
    assert "暂无通知" in page and "<h1>通知</h1>" in page


def _remind(client, department_id, plan_id, people, as_of="2026-12-03"):
    token = csrf_token(client, f"/dashboard/departments/{department_id}?plan={plan_id}")
    return client.post(f"/dashboard/departments/{department_id}/remind",
                       data={"csrf_token": token, "plan": plan_id, "as_of": as_of, "person": [str(p) for p in people]})


def test_officer_reminds_chosen_people_in_scope_once_a_day(app, db, client, login_as, learners):
    plan = _plan(db, learners)
    officer = learners["officer_a"]
    zh, en, outsider = learners["zh"], learners["en"], learners["other"]
    with time_machine.travel(utc(2026, 12, 3, 2, 0)):
        login_as(officer)
        page = client.get(f"/dashboard/departments/{learners['a'].id}?plan={plan.id}&lang=en").get_data(as_text=True)
        assert f'name="person" value="{zh.id}" form="remind-form"' in page
        assert "Send a reminder to the selected people" in page
        response = _remind(client, learners["a"].id, plan.id, [zh.id, en.id, outsider.id])
        assert response.status_code == 302
        assert f"/dashboard/departments/{learners['a'].id}?plan={plan.id}&as_of=2026-12-03" in response.headers["Location"]
        page = client.get(response.headers["Location"] + "&lang=en").get_data(as_text=True)
        assert "Reminder sent (in-app and by e-mail where an address is known): 2 people." in page
        assert "Not within your departments, not reminded: 1 people." in page
        # again the same day: nothing new
        _remind(client, learners["a"].id, plan.id, [zh.id])
        page = client.get(f"/dashboard/departments/{learners['a'].id}?plan={plan.id}&lang=en").get_data(as_text=True)
        assert "Already reminded today, not sent again: 1 people." in page
    assert _messages(db, recipient_id=outsider.id) == []
    zh_rows = _messages(db, recipient_id=zh.id)
    assert sorted((m.channel, m.kind, m.event_key) for m in zh_rows) == [
        (EMAIL, "manual", "2026-12-03"), (IN_APP, "manual", "2026-12-03")]
    assert zh_rows[0].subject == "来自 Officer A 的提醒：数字技能计划" and zh_rows[0].sender_id == officer.id
    assert "测试课程，截止日期 2026-12-10" in zh_rows[0].body
    assert _messages(db, recipient_id=en.id, channel=IN_APP)[0].subject == "Reminder from Officer A: Digital skills plan"
    events = db.session.execute(select(AuditEvent).where(AuditEvent.action.like("notifications.%"))
                                .order_by(AuditEvent.id)).scalars().all()
    assert [(e.action, e.target, e.actor_id) for e in events] == [
        ("notifications.remind", f"user:{en.id}", officer.id), ("notifications.remind", f"user:{zh.id}", officer.id),
        ("notifications.remind_refused", f"department:{learners['a'].id}", officer.id),
        ("notifications.remind", f"user:{zh.id}", officer.id)]
    assert events[0].detail["new"] is True and events[3].detail["new"] is False
    assert events[2].detail["user_ids"] == [outsider.id]
    with time_machine.travel(utc(2026, 12, 4, 2, 0)):  # the next day: a new reminder
        login_as(officer)  # yesterday's session has lapsed
        _remind(client, learners["a"].id, plan.id, [zh.id], as_of="2026-12-04")
    assert len(_messages(db, recipient_id=zh.id, channel=IN_APP)) == 2


def test_officer_cannot_remind_outside_scope(app, db, client, login_as, learners):
    plan = _plan(db, learners)
    officer_b = make_user(learners["b"], name="交通专员", staff_number="OFF-B", officer_of=[learners["b"]])
    db.session.commit()
    login_as(officer_b)
    # A is not theirs: the page and the action are 404
    assert client.get(f"/dashboard/departments/{learners['a'].id}?plan={plan.id}").status_code == 404
    token = csrf_token(client, "/courses/")
    response = client.post(f"/dashboard/departments/{learners['a'].id}/remind",
                           data={"csrf_token": token, "plan": plan.id, "person": [str(learners["zh"].id)]})
    assert response.status_code == 404
    # their own department, with someone of A's slipped in: only their own person is reminded
    response = _remind(client, learners["b"].id, plan.id, [learners["zh"].id, learners["other"].id])
    assert response.status_code == 302
    assert [m.recipient_id for m in _messages(db, channel=IN_APP)] == [learners["other"].id]
    # a learner cannot use the action at all
    client.post("/logout", data={"csrf_token": csrf_token(client, "/courses/")})
    login_as(learners["zh"])
    token = csrf_token(client, "/courses/")
    assert client.post(f"/dashboard/departments/{learners['a'].id}/remind",
                       data={"csrf_token": token, "plan": plan.id, "person": [str(learners["en"].id)]}).status_code == 403


def test_bad_reminder_input_is_a_clear_400(app, db, client, login_as, learners):
    plan = _plan(db, learners)
    login_as(learners["officer_a"])
    response = _remind(client, learners["a"].id, plan.id, ["abc"])
    assert response.status_code == 400 and "abc" in response.get_data(as_text=True)
    assert _messages(db) == []
