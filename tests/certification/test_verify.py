"""The public verification page: valid, expired, revoked, unknown; no other personal data."""
import datetime as dt

import time_machine

from app.certification.models import Certificate, Certification
from app.certification.services import find_by_code, new_verification_code, revoke
from app.core.time import utcnow
from tests.factories import make_department, make_user


def _certificate(db, **kwargs):
    cert = Certification(code="C1", title_zh="测试证书", title_en="Test Certificate", validity_months=24)
    user = make_user(make_department("市财政局"), name="赵敏")
    db.session.add(cert)
    db.session.flush()
    certificate = Certificate(certification_id=cert.id, user_id=user.id, serial="C1-2026-000001",
                              verification_code=new_verification_code(), issued_at=utcnow(), **kwargs)
    db.session.add(certificate)
    db.session.commit()
    return certificate, user


def test_valid_certificate(client, db):
    certificate, user = _certificate(db, expires_at=utcnow() + dt.timedelta(days=700))
    page = client.get(f"/verify/{certificate.verification_code}?lang=en").get_data(as_text=True)
    assert "赵敏" in page and "Test Certificate" in page and 'class="badge ok"' in page
    assert user.staff_number not in page and "市财政局" not in page


def test_expired_certificate(client, db):
    certificate, _user = _certificate(db, expires_at=utcnow() + dt.timedelta(days=1))
    with time_machine.travel(utcnow() + dt.timedelta(days=2)):
        page = client.get(f"/verify/{certificate.verification_code}?lang=en").get_data(as_text=True)
    assert 'class="badge warn">Expired' in page


def test_revoked_certificate(client, db):
    certificate, _user = _certificate(db)
    revoke(certificate, "issued in error")
    db.session.commit()
    page = client.get(f"/verify/{certificate.verification_code}?lang=en").get_data(as_text=True)
    assert 'class="badge fail">Revoked' in page and "issued in error" not in page


def test_unknown_code_is_404_and_lookup_forgives_case_and_dashes(client, db):
    certificate, _user = _certificate(db)
    assert client.get("/verify/AAAA-BBBB-CCCC").status_code == 404
    assert find_by_code(certificate.verification_code.replace("-", "").lower()).id == certificate.id
