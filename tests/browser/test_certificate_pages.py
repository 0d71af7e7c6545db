"""Certificate administration and verify pages in Chromium at 1366x768 and 390x844, zh and en: list,
detail with the revoke form, revoke in the browser, then the verify page; no sideways overflow."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.certification.models import Certificate, Certification
from app.certification.services import new_verification_code
from app.core.time import utcnow
from tests.browser.test_learner_pages import _login, _overflow  # noqa: F401
from tests.factories import make_department, make_user

VIEWPORTS = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}


@pytest.fixture()
def cert_world(db):
    city = make_department("滨江市人民政府办公室（市政务服务管理办公室）", code="CITY")
    admin = make_user(city, name="陈志强", staff_number="20260002", is_admin=True)
    holder = make_user(city, name="欧阳晓明", staff_number="20260003")
    cert = Certification(code="CSDS-SEC", title_zh="网络安全与保密合格证书", title_en="Cybersecurity and Confidentiality Certificate",
                         validity_months=24)
    db.session.add(cert)
    db.session.flush()
    db.session.add(Certificate(certification_id=cert.id, user_id=holder.id, serial="CSDS-SEC-2026-000123",
                               verification_code=new_verification_code(), issued_at=utcnow()))
    db.session.commit()
    return admin


@pytest.mark.parametrize("size", sorted(VIEWPORTS))
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_certificate_pages_fit_and_revoke(browser, live_server, cert_world, db, size, lang):  # noqa: F811
    code = "en" if lang == "en" else "zh_CN"
    context = browser.new_context(viewport=VIEWPORTS[size], locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server}/login?lang={code}")
    _login(page, live_server, cert_world)
    page.goto(f"{live_server}/admin/certificates/?lang={code}")
    assert not _overflow(page)
    page.click("text=CSDS-SEC-2026-000123")
    page.wait_for_load_state()
    assert not _overflow(page)
    page.fill("#reason", "证书信息有误" if lang == "zh" else "issued in error")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    assert ("已撤销" if lang == "zh" else "Revoked") in page.content()
    assert not _overflow(page)
    verification = db.session.execute(select(Certificate.verification_code)).scalar_one()
    page.goto(f"{live_server}/verify/{verification}")
    assert ("已撤销" if lang == "zh" else "Revoked") in page.content()
    assert not _overflow(page)
    context.close()
