"""Certificate PDF rendering (app.certification.pdf) with the built-in STSong-Light CID font.

Checks that the file is a PDF with metadata, that its Chinese text extracts with two independent
extractors (pypdf and PDFium), that the QR code decodes to the verification URL at about 35 mm, that
a certificate without expiry says so, and that over-long fields stay inside the border.

Test-only dependencies (wheels from PyPI, no system packages): pypdf, pypdfium2, zxing-cpp, Pillow.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re

import pytest

from app.certification.pdf import (
    CertificateDocument,
    _NO_LINE_START,
    _break_cjk,
    render_certificate_pdf,
)

pypdf = pytest.importorskip("pypdf")
pdfium = pytest.importorskip("pypdfium2")

MM = 72 / 25.4  # PDF points per millimetre

DOC = CertificateDocument(
    serial="CSDS-SEC-2026-000123",
    verification_code="K7Q2-M9XD-4T",
    holder_name="王秀英",
    department_name="市财政局 预算处",
    certification_title_zh="数据安全管理员",
    certification_title_en="Data Security Officer",
    issued_on=dt.date(2026, 11, 22),
    expires_on=dt.date(2029, 11, 21),
    verify_url="https://civicskills.example.gov.cn/verify/K7Q2-M9XD-4T",
    issuer_zh="XX市公务员培训中心",
    issuer_en="XX Municipal Civil Service Training Centre",
)

LONG_DOC = dataclasses.replace(
    DOC,
    holder_name="阿卜杜热合曼·买买提托合提·艾尔肯江·吐尔逊巴依·阿卜杜热合曼",
    department_name="市发展和改革委员会 国民经济综合处（市国防动员办公室经济动员科 & <综合协调组>）第三党支部",
    certification_title_zh="网络与数据安全管理及个人信息保护岗位专业能力合格证书",
    certification_title_en="Network and Data Security Management and Personal Information Protection "
                           "Professional Competence",
    serial="CSDS-SECURITYADMIN-2026-000000123456",
    verify_url="https://civicskills.training-centre.example.gov.cn/public/certificates/verify/"
               "K7Q2-M9XD-4T?lang=zh-CN&source=certificate-pdf",
    issuer_zh="XX市人力资源和社会保障局 XX市公务员培训中心（XX市行政学院）",
    issuer_en="XX Municipal Bureau of Human Resources and Social Security, XX Municipal Civil Service "
              "Training Centre (XX Municipal Academy of Governance)",
)


def _squash(text: str) -> str:
    """Drop whitespace and PDFium's soft-hyphen marker, so line breaks don't matter."""
    return re.sub(r"[\s\ufffe\u00ad]+", "", text)


def text_pypdf(pdf: bytes) -> str:
    return _squash("".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages))


def text_pdfium(pdf: bytes) -> str:
    document = pdfium.PdfDocument(pdf)
    return _squash("".join(document[i].get_textpage().get_text_range() for i in range(len(document))))


@pytest.fixture(scope="module")
def sample_pdf() -> bytes:
    return render_certificate_pdf(DOC)


def test_is_a_one_page_a4_landscape_pdf_with_metadata(sample_pdf):
    assert sample_pdf.startswith(b"%PDF-")
    assert sample_pdf.rstrip().endswith(b"%%EOF")
    reader = pypdf.PdfReader(io.BytesIO(sample_pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width) / MM), round(float(box.height) / MM)) == (297, 210)
    assert reader.metadata.title == "数据安全管理员合格证书 CSDS-SEC-2026-000123"
    assert reader.metadata.author == DOC.issuer_zh
    assert b"STSong-Light" in sample_pdf


@pytest.mark.parametrize("extract", [text_pypdf, text_pdfium], ids=["pypdf", "pdfium"])
def test_chinese_text_extracts(sample_pdf, extract):
    text = extract(sample_pdf)
    for expected in (
        "合格证书",
        "王秀英",
        "数据安全管理员",
        "CSDS-SEC-2026-000123",
        "K7Q2-M9XD-4T",
        "兹证明王秀英同志（市财政局预算处）完成规定课程学习并通过考核，获得“数据安全管理员”证书。",
        "DataSecurityOfficer",
        "2026年11月22日", "2026-11-22",
        "2029年11月21日", "2029-11-21",
        "扫码验证", "Scantoverify",
        "XX市公务员培训中心",
    ):
        assert expected in text, expected
    assert "长期有效" not in text


def test_qr_code_decodes_to_the_verify_url_at_about_35_mm(sample_pdf):
    zxingcpp = pytest.importorskip("zxingcpp")
    scale = 3  # 216 dpi
    image = pdfium.PdfDocument(sample_pdf)[0].render(scale=scale).to_pil()
    results = [r for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]
    assert [r.text for r in results] == [DOC.verify_url]
    pos = results[0].position
    width_mm = (pos.top_right.x - pos.top_left.x) / scale / MM
    assert 32 <= width_mm <= 38, width_mm


def test_qr_code_decodes_for_a_long_url():
    zxingcpp = pytest.importorskip("zxingcpp")
    image = pdfium.PdfDocument(render_certificate_pdf(LONG_DOC))[0].render(scale=3).to_pil()
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [LONG_DOC.verify_url]


@pytest.mark.parametrize("extract", [text_pypdf, text_pdfium], ids=["pypdf", "pdfium"])
def test_no_expiry_is_printed_as_such(extract):
    text = extract(render_certificate_pdf(dataclasses.replace(DOC, expires_on=None)))
    assert "长期有效" in text and "Doesnotexpire" in text
    assert "2029" not in text


def test_long_fields_stay_inside_the_border_and_are_complete():
    pdf = render_certificate_pdf(LONG_DOC)
    page = pdfium.PdfDocument(pdf)[0]
    width, height = page.get_size()
    textpage = page.get_textpage()
    inner = 12.5 * MM  # the inner border line
    for i in range(textpage.count_chars()):
        left, bottom, right, top = textpage.get_charbox(i)
        if right - left <= 0:  # generated spaces / line breaks have empty boxes
            continue
        assert inner <= left and right <= width - inner, (i, textpage.get_text_range(i, 1))
        assert inner <= bottom and top <= height - inner, (i, textpage.get_text_range(i, 1))
    text = text_pdfium(pdf)
    for expected in (_squash(LONG_DOC.holder_name), _squash(LONG_DOC.department_name),
                     LONG_DOC.certification_title_zh, LONG_DOC.serial, _squash(LONG_DOC.issuer_zh)):
        assert expected in text, expected  # nothing truncated; markup characters escaped


def test_chinese_lines_never_start_with_closing_punctuation():
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    sentence = ("兹证明 王秀英 同志（市财政局 预算处）完成规定课程学习并通过考核，"
                "获得“数据安全管理员”证书。")
    for width_mm in range(40, 200, 3):
        lines = _break_cjk(sentence, "STSong-Light", 16, width_mm * MM)
        assert "".join(lines).replace(" ", "") == sentence.replace(" ", "")
        for line in lines[1:]:
            assert line[0] not in _NO_LINE_START, (width_mm, lines)
