"""Learner reminders, officer digests and escalations under a frozen clock, captured by a real SMTP server."""
from __future__ import annotations

import datetime as dt

import time_machine
from sqlalchemy import func, select

from app.certification.models import Certificate, Certification
from app.core.time import utcnow
from app.notifications.jobs import learner_reminder
from app.notifications.models import EMAIL, IN_APP, Message
from app.rollout.models import Exemption, Milestone, PlanWave, RolloutPlan, WaveMilestone
from app.scheduler.jobs import JOBS, run_in_context
from app.scheduler.models import JobRun
from tests.factories import utc
from tests.notifications.conftest import BASE_URL, DUE, enrolment_of


def job(job_id):
    return next(j for j in JOBS if j.id == job_id)


def at_local(day: dt.date, hour: int = 9):
    """Freeze the clock at ``hour`` o'clock Asia/Shanghai (UTC+8) on ``day``."""
    return time_machine.travel(utc(day.year, day.month, day.day, hour) - dt.timedelta(hours=8), tick=False)


def messages(db, **where):
    query = select(Message).order_by(Message.id)
    for key, value in where.items():
        query = query.where(getattr(Message, key) == value)
    db.session.expire_all()
    return list(db.session.execute(query).scalars())


def run_reminders_and_send(app):
    """The reminders job and the sender job, each twice: returns (new messages, e-mails sent) of the first runs."""
    queued = run_in_context(app, job("learner-reminders"))
    assert run_in_context(app, job("learner-reminders")) == 0
    sent = run_in_context(app, job("send-emails"))
    assert run_in_context(app, job("send-emails")) == 0
    return queued, sent


def test_the_rule_for_each_day():
    due = dt.date(2026, 12, 10)
    assert learner_reminder(due, dt.date(2026, 12, 2), 7, 12) is None
    assert learner_reminder(due, dt.date(2026, 12, 3), 7, 12) == ("due_soon", "2026-12-10")
    assert learner_reminder(due, dt.date(2026, 12, 9), 7, 12) == ("due_soon", "2026-12-10")
    assert learner_reminder(due, due, 7, 12) == ("due_today", "2026-12-10")
    assert learner_reminder(due, dt.date(2026, 12, 11), 7, 12) == ("overdue", "2026-12-10:w0")
    assert learner_reminder(due, dt.date(2026, 12, 17), 7, 12) == ("overdue", "2026-12-10:w0")
    assert learner_reminder(due, dt.date(2026, 12, 18), 7, 12) == ("overdue", "2026-12-10:w1")
    assert learner_reminder(due, due + dt.timedelta(days=7 * 12 + 1), 7, 12) is None


def test_due_soon_reminder_is_sent_once_in_each_persons_language(app, db, smtp, learners):
    with at_local(dt.date(2026, 12, 2)):  # eight days before: too early
        assert run_in_context(app, job("learner-reminders")) == 0
    with at_local(dt.date(2026, 12, 3)):
        queued, sent = run_reminders_and_send(app)
    assert queued == 4  # four learners (one without e-mail gets the in-app notice only)
    assert sent == 3 and len(smtp.messages) == 3
    (zh,) = smtp.to("zhang@example.gov.cn")
    assert zh["Subject"] == "提醒：培训截止日期为 2026-12-10"
    body = zh.get_content()
    assert "张三，您好：" in body and "以下课程将于 2026-12-10 截止（还有 7 天）：" in body and "- 测试课程" in body
    assert f"继续学习：{BASE_URL}/courses/" in body
    assert zh["From"] == "CivicSkills <training@example.gov.cn>"
    (en,) = smtp.to("alice@example.gov.cn")
    assert en["Subject"] == "Reminder: training due on 2026-12-10"
    assert "Dear Alice," in en.get_content() and "- Test course" in en.get_content()
    assert "These courses are due on 2026-12-10, in 7 days:" in en.get_content()
    nomail = messages(db, recipient_id=learners["nomail"].id)
    assert [(m.channel, m.kind, m.event_key, m.locale) for m in nomail] == [(IN_APP, "due_soon", "2026-12-10", "zh_CN")]
    # the following days of the window send nothing new
    with at_local(dt.date(2026, 12, 6)):
        assert run_reminders_and_send(app) == (0, 0)
    assert len(smtp.messages) == 3
    assert all(m.sent_at is not None for m in messages(db, channel=EMAIL))


def test_due_today_then_weekly_while_overdue(app, db, smtp, learners):
    enrolment_of(db, learners["other"]).completed_at = utcnow()  # 王五 has finished: never reminded
    db.session.commit()
    with at_local(DUE):
        assert run_reminders_and_send(app) == (3, 2)
    assert [m["Subject"] for m in smtp.to("alice@example.gov.cn")] == ["Due today: training due on 2026-12-10"]
    assert smtp.to("zhang@example.gov.cn")[0]["Subject"] == "今日截止：培训截止日期为 2026-12-10"
    with at_local(DUE + dt.timedelta(days=1)):
        assert run_reminders_and_send(app) == (3, 2)
    overdue = smtp.to("alice@example.gov.cn")[-1]
    assert overdue["Subject"] == "Overdue: training was due on 2026-12-10"
    assert "are 1 days overdue" in overdue.get_content()
    for day in range(2, 8):  # the rest of that week: nothing
        with at_local(DUE + dt.timedelta(days=day)):
            assert run_in_context(app, job("learner-reminders")) == 0
    with at_local(DUE + dt.timedelta(days=8)):
        assert run_reminders_and_send(app) == (3, 2)
    assert "已逾期 8 天" in smtp.to("zhang@example.gov.cn")[-1].get_content()
    assert len(smtp.to("alice@example.gov.cn")) == 3
    assert smtp.to("wang@example.gov.cn") == []
    keys = sorted(m.event_key for m in messages(db, recipient_id=learners["en"].id, channel=IN_APP))
    assert keys == ["2026-12-10", "2026-12-10:w0", "2026-12-10:w1"]


def test_exempted_and_inactive_people_are_not_reminded(app, db, smtp, learners):
    cert = Certification(code="TEST-CERT", title_zh="测试证书", title_en="Test certificate", courses=[learners["course"]])
    db.session.add(cert)
    db.session.flush()
    plan = RolloutPlan(name_zh="计划", name_en="Plan", certification_id=cert.id, starts_on=dt.date(2026, 9, 1),
                       ends_on=DUE, audience=[learners["city"]])
    db.session.add(plan)
    db.session.flush()
    db.session.add(Exemption(plan_id=plan.id, user_id=learners["zh"].id, reason="长期病假"))
    learners["en"].active = False
    db.session.commit()
    with at_local(DUE):
        assert run_reminders_and_send(app) == (2, 1)
    assert [m["To"] for m in smtp.messages] == ["wang@example.gov.cn"]


def test_weekly_digest_lists_only_the_officers_people_in_their_language(app, db, smtp, learners):
    enrolment_of(db, learners["zh"]).completed_at = utcnow()
    db.session.commit()
    monday = dt.date(2026, 12, 14)
    with at_local(monday):
        assert run_in_context(app, job("officer-digests")) == 2
        assert run_in_context(app, job("officer-digests")) == 0
        run_in_context(app, job("send-emails"))
    (digest,) = smtp.to("officer.a@example.gov.cn")
    assert digest["Subject"] == "Weekly digest: 2 people behind"
    body = digest.get_content()
    assert "Alice (L-EN), 市财政局 › 办公室: due 2026-12-10, 1 courses unfinished" in body
    assert "李四 (L-NOMAIL)" in body and "王五" not in body and "张三" not in body  # 王五 is outside A
    assert f"{BASE_URL}/dashboard/" in body
    (city,) = smtp.to("city@example.gov.cn")
    assert city["Subject"] == "每周汇总：3 人进度落后" and "王五 (L-B)" in city.get_content()
    with at_local(monday + dt.timedelta(days=3)):  # the same ISO week: nothing new
        assert run_in_context(app, job("officer-digests")) == 0
    with at_local(monday + dt.timedelta(days=7)):
        assert run_in_context(app, job("officer-digests")) == 2


def test_escalation_goes_to_the_parent_departments_officer(app, db, smtp, learners):
    cert = Certification(code="TEST-CERT", title_zh="测试证书", title_en="Test certificate", courses=[learners["course"]])
    db.session.add(cert)
    db.session.flush()
    plan = RolloutPlan(name_zh="数字技能计划", name_en="Digital skills plan", certification_id=cert.id,
                       starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2026, 12, 31), audience=[learners["city"]],
                       milestones=[Milestone(due_on=dt.date(2026, 12, 1), target_percent=50),
                                   Milestone(due_on=dt.date(2026, 12, 31), target_percent=100)])
    db.session.add(plan)
    # 王五 (市交通局) is certified: B is on target; A-OFF (0 of 3) and A are behind, the city at 25 % too
    with at_local(dt.date(2026, 11, 20)):
        db.session.add(Certificate(certification_id=cert.id, user_id=learners["other"].id, serial="TEST-2026-000001",
                                   verification_code="CODE-0000-0001", issued_at=utcnow()))
        for person in ("zh", "en", "nomail", "other"):
            learners[person].created_at = utcnow()
        db.session.commit()
    with at_local(dt.date(2026, 12, 1)):  # the milestone's own day: not yet passed
        assert run_in_context(app, job("escalations")) == 0
    with at_local(dt.date(2026, 12, 2)):
        assert run_in_context(app, job("escalations")) == 2
        assert run_in_context(app, job("escalations")) == 0
        run_in_context(app, job("send-emails"))
    (to_a,) = smtp.to("officer.a@example.gov.cn")  # A-OFF is behind: its parent A's officer hears of it
    assert to_a["Subject"] == "Departments behind their milestone: Digital skills plan"
    body = to_a.get_content()
    assert "These departments below you are behind their latest milestone (as of 2026-12-02):" in body
    assert "- 市财政局 › 办公室: 0.0 % certified, 0 of 3; the milestone of 2026-12-01 asked for 50.0 %" in body
    (to_city,) = smtp.to("city@example.gov.cn")  # A is behind: its parent, the city, hears of it; B is not
    assert to_city["Subject"] == "部门未达阶段目标：数字技能计划"
    assert "- 市财政局: 持证率 0.0 %，3 人中 0 人已取证" in to_city.get_content()
    assert "市交通局" not in to_city.get_content()
    with at_local(dt.date(2026, 12, 8)):  # a week later, still behind: once more
        assert run_in_context(app, job("escalations")) == 2


def test_escalation_uses_the_departments_wave_milestones(app, db, smtp, learners):
    """市财政局 (A, with A-OFF) is a wave with its own milestone 11-25 → 10 %; the plan's first milestone is
    12-20 → 50 %. On 11-26 A and A-OFF (0 of 3) are behind their wave's milestone although no plan
    milestone has passed (before, escalations looked only at the plan's milestones: nothing was sent).
    B (no wave, 1 of 1 completed) is not named."""
    plan = RolloutPlan(name_zh="课程计划", name_en="Courses plan", certification_id=None, courses=[learners["course"]],
                       starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2026, 12, 31), audience=[learners["city"]],
                       milestones=[Milestone(due_on=dt.date(2026, 12, 20), target_percent=50)])
    plan.waves.append(PlanWave(name="第一批", starts_on=dt.date(2026, 11, 1), ends_on=dt.date(2026, 11, 30),
                               departments=[learners["a"]],
                               milestones=[WaveMilestone(due_on=dt.date(2026, 11, 25), target_percent=10)]))
    db.session.add(plan)
    with at_local(dt.date(2026, 11, 20)):
        enrolment_of(db, learners["other"]).completed_at = utcnow()  # 王五 (B) completed the one course
        for person in ("zh", "en", "nomail", "other"):
            learners[person].created_at = utcnow()
        db.session.commit()
    with at_local(dt.date(2026, 11, 25)):  # the wave's milestone day: not yet passed
        assert run_in_context(app, job("escalations")) == 0
    with at_local(dt.date(2026, 11, 26)):
        assert run_in_context(app, job("escalations")) == 2  # A-OFF → A's officer, A → the city's
        run_in_context(app, job("send-emails"))
    (to_a,) = smtp.to("officer.a@example.gov.cn")
    assert ("- 市财政局 › 办公室: 0.0 % completed, 0 of 3; the milestone of 2026-11-25 asked for 10.0 %"
            in to_a.get_content())
    (to_city,) = smtp.to("city@example.gov.cn")
    assert "市交通局" not in to_city.get_content() and "2026-11-25" in to_city.get_content()


def test_nothing_is_queued_twice_when_two_threads_run_the_job(app, db, smtp, learners):
    import threading

    barrier = threading.Barrier(2)
    results = []

    def worker():
        barrier.wait()
        results.append(run_in_context(app, job("learner-reminders")))

    with at_local(DUE):
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    # one run queued the four reminders; the other was skipped (lock held) or found them queued
    assert sorted(r or 0 for r in results) == [0, 4]
    assert db.session.execute(select(func.count(Message.id)).where(Message.channel == IN_APP)).scalar_one() == 4
    runs = db.session.execute(select(JobRun.outcome, JobRun.count).where(JobRun.job_id == "learner-reminders")
                              .order_by(JobRun.count)).all()
    assert sorted(runs, key=str) in (sorted([("ok", 4), ("skipped", None)], key=str), sorted([("ok", 0), ("ok", 4)], key=str))
