"""Audit log, department tree, department page and sign-in code pages in Chromium at 1366x768 and
390x844, zh and en: no sideways overflow. Screenshots go to $PEOPLE_SHOTS (default /tmp/shots-people/)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.audit.services import record
from tests.browser.test_learner_pages import _login, _overflow  # noqa: F401
from tests.factories import make_department, make_user

SHOTS = Path(os.environ.get("PEOPLE_SHOTS", "/tmp/shots-people"))
VIEWPORTS = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}


@pytest.fixture()
def admin_world(db):
    city = make_department("滨江市人民政府办公室（市政务服务管理办公室）", code="CITY")
    czj = make_department("市财政局", city, code="CITY-CZJ")
    office = make_department("办公室（政策法规与行政审批综合协调科）", czj, code="CITY-CZJ-BGS-LONG-CODE-0001")
    admin = make_user(city, name="陈志强", staff_number="20260002", is_admin=True)
    for n in range(8):
        make_user(office, staff_number=f"3026{n:04d}", name=f"职员{n}").password_hash = None
    record(admin.id, "exam.regrade", "exam:DIGITAL-LITERACY-FINAL-2026",
           {"report": ["attempt 12 of 职员1 (30260001): 55.00 → 61.00, now passed; certificate issued"] * 3,
            "questions": list(range(40))}, ip="2001:db8:85a3::8a2e:370:7334")
    record(None, "auth.login_failed", "staff:" + "9" * 40, {"method": "password", "reason": "unknown"})
    db.session.commit()
    return admin, office


@pytest.mark.parametrize("size", sorted(VIEWPORTS))
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_audit_and_department_pages_fit(browser, live_server, admin_world, size, lang):  # noqa: F811
    admin, office = admin_world
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=VIEWPORTS[size], locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server}/login?lang={'en' if lang == 'en' else 'zh_CN'}")
    _login(page, live_server, admin)
    for name, url in (("audit", "/admin/audit/"), ("departments", "/admin/departments/"),
                      ("department", f"/admin/departments/{office.id}"),
                      ("codes", f"/people/sign-in-codes?department={office.id}")):
        page.goto(live_server + url)
        assert not _overflow(page), (name, size, lang)
        page.screenshot(path=str(SHOTS / f"{name}-{lang}-{size}.png"), full_page=True)
    page.select_option("main form[method=post] select[name=format] >> nth=0", "html")
    page.click("main form[method=post] button >> nth=0")
    page.wait_for_load_state()
    assert "30260000" in page.content()
    assert not _overflow(page)
    page.screenshot(path=str(SHOTS / f"slips-{lang}-{size}.png"), full_page=True)
    context.close()
