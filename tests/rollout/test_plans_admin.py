"""The plan pages (admins) and the officer actions on a person record, over HTTP."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.exams.models import ExamOverride
from app.rollout.models import Exemption, RolloutPlan
from tests.factories import csrf_token, make_department, make_user


def _login(client, login_as, user):
    assert login_as(user).status_code == 302
    return csrf_token(client, "/courses/")


def _plan_form(tree, token, **extra):
    data = {"csrf_token": token, "name_zh": "浏览器计划", "name_en": "Browser plan",
            "certification_id": str(tree["plan"].certification_id), "starts_on": "2026-09-01",
            "ends_on": "2026-12-31", "due_rule": "fixed", "active": "y", "audience": [str(tree["a"].id)],
            "exclude": [], "m-0-due_on": "2026-12-31", "m-0-target": "100", "m-1-due_on": "", "m-1-target": ""}
    data.update(extra)
    return data


def test_admin_creates_a_plan_and_enrolments_follow(client, login_as, db, tree):
    token = _login(client, login_as, tree["admin"])
    response = client.post("/admin/plans/new", data=_plan_form(tree, token, exclude=[str(tree["a_off"].id)]))
    assert response.status_code == 302
    plan = db.session.execute(select(RolloutPlan).where(RolloutPlan.name_zh == "浏览器计划")).scalar_one()
    assert [d.id for d in plan.audience] == [tree["a"].id] and [d.id for d in plan.exclusions] == [tree["a_off"].id]
    assert db.session.execute(select(AuditEvent.action).where(AuditEvent.target == f"plan:{plan.id}")).scalars().all()[0] \
        == "rollout_plan.create"
    page = client.get(f"/admin/plans/{plan.id}/edit").get_data(as_text=True)
    assert re.search(r'name="exclude" value="%d" aria-label="[^"]*" checked' % tree["a_off"].id, page)
    assert re.search(r'name="audience" value="%d" aria-label="[^"]*" checked' % tree["a"].id, page)
    assert not re.search(r'name="audience" value="%d" aria-label="[^"]*" checked' % tree["city"].id, page)
    assert "浏览器计划" in client.get("/admin/plans/").get_data(as_text=True)


def test_errors_are_shown_by_field_and_nothing_is_saved(client, login_as, db, tree):
    token = _login(client, login_as, tree["admin"])
    before = db.session.execute(select(func.count(RolloutPlan.id))).scalar_one()
    response = client.post("/admin/plans/new?lang=en", data=_plan_form(
        tree, token, name_zh="", ends_on="2026-08-01", audience=[], **{"m-0-target": "150"}))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    for field in ("name_zh-error", "ends_on-error", "audience-error", "milestones-0-target-error"):
        assert f'id="{field}"' in page, field
    assert db.session.execute(select(func.count(RolloutPlan.id))).scalar_one() == before


def test_add_a_row_shows_one_more_milestone_row_and_saves_nothing(client, login_as, db, tree):
    token = _login(client, login_as, tree["admin"])
    response = client.post("/admin/plans/new", data=_plan_form(tree, token, more="1"))
    assert response.status_code == 200
    assert 'name="m-3-due_on"' in response.get_data(as_text=True)
    assert db.session.execute(select(func.count(RolloutPlan.id))).scalar_one() == 1


def test_waves_and_exemptions_pages(client, login_as, db, tree):
    token = _login(client, login_as, tree["admin"])
    plan = tree["plan"]
    response = client.post(f"/admin/plans/{plan.id}/waves", data={
        "csrf_token": token, "name": "第一批", "starts_on": "2026-09-01", "ends_on": "2026-10-31",
        "wave_department": [str(tree["b"].id)]})
    assert response.status_code == 302
    db.session.expire_all()
    assert [w.name for w in db.session.get(RolloutPlan, plan.id).waves] == ["第一批"]
    bad = client.post(f"/admin/plans/{plan.id}/waves", data={
        "csrf_token": token, "name": "", "starts_on": "2026-09-01", "ends_on": "2027-10-31", "wave_department": []})
    assert bad.status_code == 400
    found = client.get(f"/admin/plans/{plan.id}/exemptions?q=U2").get_data(as_text=True)
    assert "学员2" in found
    no_reason = client.post(f"/admin/plans/{plan.id}/exemptions",
                            data={"csrf_token": token, "user_id": tree["users"][2].id, "reason": "", "q": "U2"})
    assert no_reason.status_code == 400
    ok = client.post(f"/admin/plans/{plan.id}/exemptions",
                     data={"csrf_token": token, "user_id": tree["users"][2].id, "reason": "借调"})
    assert ok.status_code == 302
    assert db.session.execute(select(Exemption.reason).where(Exemption.user_id == tree["users"][2].id)).scalar_one() == "借调"
    assert client.post(f"/admin/plans/{plan.id}/exemptions/{tree['users'][2].id}/lift",
                       data={"csrf_token": token}).status_code == 302


def test_officer_exempts_and_grants_within_scope(client, login_as, db, tree):
    officer, u1, plan = tree["officer"], tree["users"][1], tree["plan"]
    token = _login(client, login_as, officer)
    response = client.post(f"/dashboard/people/{u1.id}/actions",
                           data={"csrf_token": token, "action": "exempt", "plan_id": plan.id, "reason": "长期病假"})
    assert response.status_code == 302
    assert db.session.execute(select(Exemption.created_by_id).where(Exemption.user_id == u1.id)).scalar_one() == officer.id
    response = client.post(f"/dashboard/people/{u1.id}/actions",
                           data={"csrf_token": token, "action": "extra_attempt", "exam_id": tree["exam"].id,
                                 "reason": "考试时停电"})
    assert response.status_code == 302
    assert db.session.execute(select(ExamOverride.attempts_allowed).where(ExamOverride.user_id == u1.id)).scalar_one() == 3
    page = client.get(f"/dashboard/people/{u1.id}").get_data(as_text=True)
    assert "长期病假" in page and "考试时停电" in page
    missing = client.post(f"/dashboard/people/{u1.id}/actions",
                          data={"csrf_token": token, "action": "extra_time", "exam_id": tree["exam"].id, "reason": ""})
    assert missing.status_code == 400


def test_an_officer_cannot_act_on_anyone_outside_scope(client, login_as, db, tree):
    u3 = tree["users"][3]  # 市交通局: outside the officer's 市财政局
    token = _login(client, login_as, tree["officer"])
    for data in ({"action": "exempt", "plan_id": tree["plan"].id, "reason": "x"},
                 {"action": "extra_attempt", "exam_id": tree["exam"].id, "reason": "x"},
                 {"action": "extra_time", "exam_id": tree["exam"].id, "minutes": "10", "reason": "x"},
                 {"action": "lift", "plan_id": tree["plan"].id}):
        assert client.post(f"/dashboard/people/{u3.id}/actions", data=dict(data, csrf_token=token)).status_code == 404
    assert client.get(f"/dashboard/people/{u3.id}").status_code == 404
    # nothing but the officer's own sign-in and the refusals may be in the audit log
    actions = set(db.session.execute(select(AuditEvent.action)).scalars())
    assert actions <= {"auth.login", "access.denied"}, actions
    assert db.session.execute(select(func.count(ExamOverride.id))).scalar_one() == 0
    assert db.session.execute(select(func.count(Exemption.id)).where(Exemption.user_id == u3.id)).scalar_one() == 0


def test_an_officer_cannot_exempt_from_a_plan_they_do_not_see(client, login_as, db, tree):
    other_root = make_department("外区", code="OUT")
    outsider_plan = RolloutPlan(name_zh="外区计划", certification_id=tree["plan"].certification_id,
                                starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2026, 12, 31), audience=[other_root])
    db.session.add(outsider_plan)
    db.session.commit()
    token = _login(client, login_as, tree["officer"])
    response = client.post(f"/dashboard/people/{tree['users'][1].id}/actions",
                           data={"csrf_token": token, "action": "exempt", "plan_id": outsider_plan.id, "reason": "x"})
    assert response.status_code == 400
    assert db.session.execute(select(func.count(Exemption.id)).where(Exemption.plan_id == outsider_plan.id)).scalar_one() == 0


def test_learner_and_officer_cannot_open_plan_pages(app, db, tree):
    learner = make_user(tree["a_off"], name="学员X", staff_number="LX")
    db.session.commit()
    for user in (learner, tree["officer"]):
        client = app.test_client()
        client.post("/login", data={"staff_number": user.staff_number, "password": "correct-horse-42",
                                    "csrf_token": csrf_token(client, "/login")})
        token = csrf_token(client, "/courses/")
        assert client.get("/admin/plans/new").status_code == 403
        assert client.post("/admin/plans/new", data=_plan_form(tree, token)).status_code == 403


def test_admin_creates_a_courses_only_plan_and_none_without_either(client, login_as, db, tree):
    token = _login(client, login_as, tree["admin"])
    neither = client.post("/admin/plans/new?lang=en", data=_plan_form(tree, token, certification_id="0"))
    assert neither.status_code == 400 and 'id="certification-error"' in neither.get_data(as_text=True)
    assert db.session.execute(select(RolloutPlan).where(RolloutPlan.name_zh == "浏览器计划")).first() is None
    ok = client.post("/admin/plans/new", data=_plan_form(tree, token, certification_id="0",
                                                          course=[str(tree["course"].id)]))
    assert ok.status_code == 302
    plan = db.session.execute(select(RolloutPlan).where(RolloutPlan.name_zh == "浏览器计划")).scalar_one()
    assert plan.certification_id is None and [c.id for c in plan.courses] == [tree["course"].id]
    listing = client.get("/admin/plans/").get_data(as_text=True)
    assert "Courses only" in listing or "仅要求课程" in listing


def test_a_wave_with_its_own_milestones_from_the_page(client, login_as, db, tree):
    token = _login(client, login_as, tree["admin"])
    plan = tree["plan"]
    form = {"csrf_token": token, "name": "第一批", "starts_on": "2026-10-01", "ends_on": "2026-10-31",
            "wave_department": [str(tree["b"].id)], "wm-0-due_on": "2026-11-15", "wm-0-target": "100"}
    bad = client.post(f"/admin/plans/{plan.id}/waves", data=form)
    assert bad.status_code == 400 and 'id="milestones-0-due_on-error"' in bad.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(RolloutPlan, plan.id).waves == []
    form["wm-0-due_on"] = "2026-10-31"
    assert client.post(f"/admin/plans/{plan.id}/waves", data=form).status_code == 302
    db.session.expire_all()
    wave = db.session.get(RolloutPlan, plan.id).waves[0]
    assert [(m.due_on, float(m.target_percent)) for m in wave.milestones] == [(dt.date(2026, 10, 31), 100.0)]
    page = client.get(f"/admin/plans/{plan.id}/waves").get_data(as_text=True)
    assert "100 %" in page or "100%" in page


def test_editing_a_waves_milestones_on_the_waves_page(client, login_as, db, tree):
    token = _login(client, login_as, tree["admin"])
    plan = tree["plan"]
    form = {"csrf_token": token, "name": "第一批", "starts_on": "2026-10-01", "ends_on": "2026-10-31",
            "wave_department": [str(tree["b"].id)], "wm-0-due_on": "2026-10-31", "wm-0-target": "100"}
    assert client.post(f"/admin/plans/{plan.id}/waves", data=form).status_code == 302
    db.session.expire_all()
    wave = db.session.get(RolloutPlan, plan.id).waves[0]
    url = f"/admin/plans/{plan.id}/waves/{wave.id}/milestones"
    page = client.get(f"/admin/plans/{plan.id}/waves?lang=en").get_data(as_text=True)
    assert f'action="{url}"' in page and 'name="wm-0-due_on" value="2026-10-31"' in page and "Edit milestones" in page
    # "Add a row" shows one more empty row and saves nothing
    more = client.post(url + "?lang=en", data={"csrf_token": token, "wm-0-due_on": "2026-10-31", "wm-0-target": "100",
                                              "more": "1"})
    html = more.get_data(as_text=True)
    assert more.status_code == 200 and 'name="wm-1-due_on" value=""' in html and 'name="wm-2-due_on"' in html
    # a bad row: 400, the message beside it, nothing saved
    bad = client.post(url, data={"csrf_token": token, "wm-0-due_on": "2026-10-31", "wm-0-target": "100",
                                 "wm-1-due_on": "2026-11-20", "wm-1-target": "50"})
    assert bad.status_code == 400 and 'id="milestones-1-due_on-error"' in bad.get_data(as_text=True)
    db.session.expire_all()
    assert [m.due_on for m in db.session.get(RolloutPlan, plan.id).waves[0].milestones] == [dt.date(2026, 10, 31)]
    # remove the 10-31 row and add 10-20 → 80 %: saved, audited
    saved = client.post(url, data={"csrf_token": token, "wm-0-due_on": "2026-10-31", "wm-0-target": "100",
                                   "wm-0-remove": "1", "wm-1-due_on": "2026-10-20", "wm-1-target": "80"})
    assert saved.status_code == 302
    db.session.expire_all()
    wave = db.session.get(RolloutPlan, plan.id).waves[0]
    assert [(m.due_on, float(m.target_percent)) for m in wave.milestones] == [(dt.date(2026, 10, 20), 80.0)]
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "rollout_plan.update")
                               .order_by(AuditEvent.id.desc())).scalars().first()
    assert event.detail["changes"] == ["waves"] and event.detail["waves"][0]["milestones"] == [["2026-10-20", "80"]]
    # without a CSRF token nothing happens; another plan's wave is a 404
    assert client.post(url, data={"wm-0-due_on": ""}).status_code == 400
    other = RolloutPlan(name_zh="另一个", name_en="Other", certification_id=plan.certification_id,
                        starts_on=plan.starts_on, ends_on=plan.ends_on, audience=[tree["city"]])
    db.session.add(other)
    db.session.commit()
    new_url = f"/admin/plans/{other.id}/waves/{wave.id}/milestones"
    assert client.post(new_url, data={"csrf_token": token}).status_code == 404
