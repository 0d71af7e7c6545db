"""Certificate PDFs: Chinese text that extracts correctly, and a QR code that decodes to the verify URL."""
import datetime as dt
import io

import pytest

from app.certification.pdf import CertificateDocument, find_cjk_font, render_certificate_pdf

pypdf = pytest.importorskip("pypdf")

DOC = CertificateDocument(
    serial="CSDS-SEC-2026-000123", verification_code="K7Q2-M9XD-4TPA", holder_name="王秀英",
    department_name="市财政局 预算处", certification_title_zh="网络安全与保密合格证书",
    certification_title_en="Cybersecurity and Confidentiality Certificate", issued_on=dt.date(2026, 11, 22),
    expires_on=dt.date(2028, 11, 22), verify_url="https://train.example.gov.cn/verify/K7Q2-M9XD-4TPA",
    issuer_zh="滨江市公务员培训中心", issuer_en="Binjiang Civil Service Training Centre",
)


def _text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages).replace(" ", "")


@pytest.mark.skipif(find_cjk_font() is None, reason="no TrueType CJK font installed (fonts-wqy-microhei)")
def test_embedded_font_pdf_has_extractable_chinese_text():
    pdf = render_certificate_pdf(DOC, font_path=find_cjk_font())
    assert pdf.startswith(b"%PDF")
    text = _text(pdf)
    for expected in ("王秀英", "网络安全与保密", "CSDS-SEC-2026-000123", "K7Q2-M9XD-4TPA", "2028年11月22日"):
        assert expected in text, expected
    assert b"/FontFile2" in pdf  # the TrueType CJK font is embedded (as a subset)


def test_cid_font_pdf_names_the_holder_and_serial():
    pdf = render_certificate_pdf(DOC, font_path=None)
    assert pdf.startswith(b"%PDF") and b"STSong-Light" in pdf
    text = _text(pdf)
    assert "CSDS-SEC-2026-000123" in text and "王秀英" in text


def test_certificate_without_expiry_says_so():
    doc = CertificateDocument(**{**DOC.__dict__, "expires_on": None})
    text = _text(render_certificate_pdf(doc, font_path=find_cjk_font()))
    assert "Doesnotexpire" in text
    if find_cjk_font():
        assert "长期有效" in text


def test_qr_code_decodes_to_the_verify_url():
    pdfium = pytest.importorskip("pypdfium2")
    zxingcpp = pytest.importorskip("zxingcpp")
    pdf = render_certificate_pdf(DOC, font_path=find_cjk_font())
    page = pdfium.PdfDocument(pdf)[0]
    image = page.render(scale=3).to_pil()
    results = zxingcpp.read_barcodes(image)
    assert [r.text for r in results if r.format == zxingcpp.BarcodeFormat.QRCode] == [DOC.verify_url]
