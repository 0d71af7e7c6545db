"""Certificate links come only from configuration, never from the request's Host header."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from tests.test_access import world  # noqa: F401  (fixture)

HOSTILE_HOST = "evil.example"


def _owner_pdf(app, world, host, headers=None):  # noqa: F811
    """Sign in as the certificate's holder through ``host`` (the Host header of every request) and
    fetch the PDF; returns (pdf bytes, verification code)."""
    import re

    from app.auth.models import User
    from app.extensions import db

    users, values = world
    owner = db.session.execute(select(User).where(User.name == "业主")).scalar_one()
    client = app.test_client()
    base = f"http://{host}"
    page = client.get("/login", base_url=base).get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    assert client.post("/login", base_url=base, data={"staff_number": owner.staff_number,
                       "password": "correct-horse-42", "csrf_token": token}).status_code == 302
    response = client.get(f"/certificates/{values['certificate']}.pdf", base_url=base, headers=headers or {})
    assert response.status_code == 200
    return response.data, values["code"]


def _qr_and_text(pdf: bytes) -> tuple[list[str], str]:
    pypdf = pytest.importorskip("pypdf")
    pdfium = pytest.importorskip("pypdfium2")
    zxingcpp = pytest.importorskip("zxingcpp")
    image = pdfium.PdfDocument(pdf)[0].render(scale=3).to_pil()
    qr = [r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages).replace(" ", "").replace("\n", "")
    return qr, text


@pytest.mark.parametrize("host, headers", [(HOSTILE_HOST, None), ("localhost", {"X-Forwarded-Host": HOSTILE_HOST})],
                         ids=["host", "forwarded-host"])
def test_hostile_host_header_never_reaches_the_certificate(app, world, host, headers, monkeypatch):  # noqa: F811
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "")
    pdf, code = _owner_pdf(app, world, host, headers)
    qr, text = _qr_and_text(pdf)
    assert qr == [f"http://127.0.0.1:5000/verify/{code}"]
    assert HOSTILE_HOST not in text


def test_public_base_url_is_used_when_set(app, world, monkeypatch):  # noqa: F811
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://training.example.gov.cn/")
    pdf, code = _owner_pdf(app, world, HOSTILE_HOST)
    qr, _ = _qr_and_text(pdf)
    assert qr == [f"https://training.example.gov.cn/verify/{code}"]


def test_production_refuses_to_start_without_public_base_url(monkeypatch):
    from config import ProductionConfig

    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    for bad in (None, "", "training.example.gov.cn", "javascript:alert(1)"):
        if bad is None:
            monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
        else:
            monkeypatch.setenv("PUBLIC_BASE_URL", bad)
        with pytest.raises(RuntimeError, match="PUBLIC_BASE_URL"):
            ProductionConfig.validate()
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://training.example.gov.cn")
    ProductionConfig.validate()
