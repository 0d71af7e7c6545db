"""Certificate lifecycle: validity and renewal window from the certification, statuses in Python and
SQL as of a date, the renewal job (idempotent), revoke/reinstate pages (audited), verify page and PDF."""
from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import pytest
import time_machine
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.certification.models import Certificate, Certification
from app.certification.services import assign_due_renewals, issue_due_certificates, new_verification_code, revoke
from app.core.errors import DomainError
from app.learning.models import Course, Enrolment
from app.scheduler.jobs import JOBS
from tests.factories import csrf_token, make_department, make_user, utc

# Issued 2026-01-10 02:00 UTC (10:00 Shanghai); 24 months → 2028-01-10 02:00 UTC; window 60 days →
# renewal opens 2027-11-11 02:00 UTC.
ISSUED = utc(2026, 1, 10, 2, 0)
EXPIRES = utc(2028, 1, 10, 2, 0)
OPENS = utc(2027, 11, 11, 2, 0)


@pytest.fixture()
def world(db):
    dept = make_department("市财政局")
    courses = [Course(slug=f"c{i}", title_zh=f"课程{i}", title_en=f"Course {i}") for i in (1, 2)]
    cert = Certification(code="SEC", title_zh="网络安全证书", title_en="Security Certificate", validity_months=24,
                         recertification_window_days=60, courses=courses)
    forever = Certification(code="OS", title_zh="操作系统证书", title_en="OS Certificate", validity_months=None,
                            courses=[courses[0]])
    db.session.add_all([cert, forever])
    user = make_user(dept, name="赵敏")
    admin = make_user(None, name="管理员", is_admin=True)
    db.session.flush()
    for course in courses:
        db.session.add(Enrolment(user_id=user.id, course_id=course.id, source="plan", due_on=dt.date(2026, 3, 1),
                                 completed_at=ISSUED - dt.timedelta(hours=1)))
    db.session.flush()
    with time_machine.travel(ISSUED, tick=False):
        issued = issue_due_certificates(user)
    db.session.commit()
    by_code = {c.certification.code: c for c in issued}
    return SimpleNamespace(user=user, admin=admin, cert=cert, courses=courses, sec=by_code["SEC"], os=by_code["OS"])


def test_issue_takes_validity_and_window_from_the_certification(world):
    assert world.sec.expires_at == EXPIRES
    assert world.sec.renewal_opens_at == OPENS
    assert world.os.expires_at is None and world.os.renewal_opens_at is None


@pytest.mark.parametrize("moment, expected", [
    (ISSUED + dt.timedelta(days=1), "certified"),
    (OPENS, "certified"),                                   # the instant itself: not yet (events before it count)
    (OPENS + dt.timedelta(seconds=1), "due_for_renewal"),
    (EXPIRES, "due_for_renewal"),
    (EXPIRES + dt.timedelta(seconds=1), "expired"),
    (utc(2040, 1, 1), "expired"),
])
def test_status_in_python_and_sql_agree(world, db, moment, expected):
    assert world.sec.status_at(moment) == expected
    assert db.session.execute(select(Certificate.status_at(moment)).where(Certificate.id == world.sec.id)).scalar_one() \
        == expected
    assert world.os.status_at(moment) == "certified"        # never expires
    held = expected in ("certified", "due_for_renewal")
    assert world.sec.held_at(moment) is held
    assert db.session.execute(select(func.count()).select_from(Certificate)
                              .where(Certificate.id == world.sec.id, Certificate.held_at(moment))).scalar_one() == held


def test_revoked_status_from_the_revocation_on(world, db):
    with time_machine.travel(utc(2026, 6, 1), tick=False):
        revoke(world.sec, "issued in error", actor=world.admin)
    db.session.commit()
    for moment, expected in ((utc(2026, 5, 31), "certified"), (utc(2026, 6, 1, 0, 0, 1), "revoked"),
                             (utc(2030, 1, 1), "revoked")):
        assert world.sec.status_at(moment) == expected
        assert db.session.execute(select(Certificate.status_at(moment))
                                  .where(Certificate.id == world.sec.id)).scalar_one() == expected


def test_renewal_job_reassigns_once_inside_the_window(world, db):
    job = next(j for j in JOBS if j.id == "assign-certificate-renewals")
    with time_machine.travel(OPENS - dt.timedelta(days=1), tick=False):
        assert assign_due_renewals() == 0                     # window not open yet
    with time_machine.travel(OPENS + dt.timedelta(hours=1), tick=False):
        assert job.func() == 1
        db.session.commit()
        assert assign_due_renewals() == 0                     # second run: nothing more
    enrolments = db.session.execute(select(Enrolment).where(Enrolment.user_id == world.user.id)).scalars().all()
    # Both courses due again on the expiry's local date (2028-01-10 10:00 Shanghai).
    assert sorted((e.course_id, e.due_on, e.source) for e in enrolments) == \
        sorted((c.id, dt.date(2028, 1, 10), "renewal") for c in world.courses)
    db.session.refresh(world.sec)
    assert world.sec.renewal_assigned_at == OPENS + dt.timedelta(hours=1)


def test_renewal_job_skips_revoked_superseded_and_never_expiring(world, db):
    revoke(world.sec, "issued in error")
    db.session.commit()
    with time_machine.travel(EXPIRES + dt.timedelta(days=3), tick=False):
        assert assign_due_renewals() == 0
    world.sec.revoked_at = None
    newer = Certificate(certification_id=world.cert.id, user_id=world.user.id, serial="SEC-2027-9", issued_at=OPENS,
                        verification_code=new_verification_code(), expires_at=utc(2029, 12, 1),
                        renewal_opens_at=utc(2029, 10, 1))
    db.session.add(newer)
    db.session.commit()
    with time_machine.travel(EXPIRES + dt.timedelta(days=3), tick=False):
        assert assign_due_renewals() == 0                     # the newer certificate supersedes it


def test_pass_inside_the_window_renews(world, db):
    with time_machine.travel(OPENS + dt.timedelta(days=5), tick=False):
        from app.learning.services import check_course_completion

        check_course_completion(world.user, world.courses[0], attempt=SimpleNamespace(id=None, passed=True))
        db.session.commit()
    sec = db.session.execute(select(Certificate).where(Certificate.user_id == world.user.id,
                                                       Certificate.certification_id == world.cert.id)
                             .order_by(Certificate.issued_at)).scalars().all()
    assert len(sec) == 2 and sec[1].issued_at == OPENS + dt.timedelta(days=5)
    assert sec[1].status_at(OPENS + dt.timedelta(days=6)) == "certified"


def test_revoke_needs_a_reason(world, db):
    with pytest.raises(DomainError):
        revoke(world.sec, "   ")
    assert world.sec.revoked_at is None




def test_admin_revokes_and_reinstates_in_the_browser(app, client, db, world, login_as):
    login_as(world.admin)
    page = client.get("/admin/certificates/?q=" + world.sec.serial).get_data(as_text=True)
    assert world.sec.serial in page and world.os.serial not in page
    token = csrf_token(client, f"/admin/certificates/{world.sec.id}")
    # No reason: refused, nothing changes.
    response = client.post(f"/admin/certificates/{world.sec.id}/revoke", data={"csrf_token": token, "reason": " "})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Certificate, world.sec.id).revoked_at is None
    # Without the CSRF token: refused.
    assert client.post(f"/admin/certificates/{world.sec.id}/revoke", data={"reason": "x"}).status_code == 400
    client.post(f"/admin/certificates/{world.sec.id}/revoke", data={"csrf_token": token, "reason": "冒名顶替考试"})
    db.session.expire_all()
    sec = db.session.get(Certificate, world.sec.id)
    assert sec.revoked_at is not None and sec.revoked_reason == "冒名顶替考试" and sec.revoked_by_id == world.admin.id
    # The public page says revoked (both languages) and never the reason or who revoked it.
    public = app.test_client()
    for lang, word in (("en", "Revoked"), ("zh_CN", "已撤销")):
        page = public.get(f"/verify/{sec.verification_code}?lang={lang}").get_data(as_text=True)
        assert word in page and "冒名顶替考试" not in page and "管理员" not in page
    client.post(f"/admin/certificates/{world.sec.id}/reinstate", data={"csrf_token": token, "reason": "身份已核实"})
    db.session.expire_all()
    sec = db.session.get(Certificate, world.sec.id)
    assert sec.revoked_at is None and sec.revoked_reason is None
    events = db.session.execute(select(AuditEvent.action, AuditEvent.actor_id, AuditEvent.detail)
                                .where(AuditEvent.target == f"certificate:{sec.id}").order_by(AuditEvent.id)).all()
    assert [(a, actor, d["reason"]) for a, actor, d in events] == [
        ("certificate.revoke", world.admin.id, "冒名顶替考试"), ("certificate.reinstate", world.admin.id, "身份已核实")]
    assert "身份已核实" in client.get(f"/admin/certificates/{sec.id}").get_data(as_text=True)


def test_verify_page_shows_due_for_renewal_and_expired(client, world):
    with time_machine.travel(OPENS + dt.timedelta(days=1)):
        page = client.get(f"/verify/{world.sec.verification_code}?lang=en").get_data(as_text=True)
        assert "Due for renewal" in page
        page = client.get(f"/verify/{world.sec.verification_code}?lang=zh_CN").get_data(as_text=True)
        assert "待换证" in page
    with time_machine.travel(EXPIRES + dt.timedelta(days=1)):
        page = client.get(f"/verify/{world.sec.verification_code}?lang=en").get_data(as_text=True)
        assert "Expired" in page


def test_pdf_refused_for_revoked_and_expired_served_when_due(client, db, world, login_as):
    with time_machine.travel(OPENS + dt.timedelta(days=1)):
        login_as(world.user)  # inside the travel: a session opened in 2026 has ended by 2027
        response = client.get(f"/certificates/{world.sec.id}.pdf")
        assert response.status_code == 200 and response.data.startswith(b"%PDF")
    with time_machine.travel(EXPIRES + dt.timedelta(days=1)):
        login_as(world.user)
        response = client.get(f"/certificates/{world.sec.id}.pdf?lang=en")
        assert response.status_code == 409 and b"%PDF" not in response.data
        assert re.search(r"expired on 2028-01-10", response.get_data(as_text=True))
    revoke(world.os, "issued in error")
    db.session.commit()
    login_as(world.user)
    response = client.get(f"/certificates/{world.os.id}.pdf?lang=en")
    assert response.status_code == 409 and "was revoked on" in response.get_data(as_text=True)
