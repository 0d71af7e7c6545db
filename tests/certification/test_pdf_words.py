"""Certificate PDF text quality: the title metadata and body name a certificate once (no "证书…证书"),
and Chinese lines never break inside a word (考核, 合格, 证书, 公务员, 培训中心, or a unit's name)."""
from __future__ import annotations

import dataclasses
import datetime as dt
import io
from pathlib import Path

import pytest
import yaml

from app.certification.pdf import KEEP_TOGETHER_ZH, CertificateDocument, _break_cjk, render_certificate_pdf

pypdf = pytest.importorskip("pypdf")

MM = 72 / 25.4
ROOT = Path(__file__).resolve().parents[2]
SHIPPED_TITLES = [c["title"]["zh"] for c in yaml.safe_load((ROOT / "courses" / "certifications.yaml").read_text("utf-8"))]

DOC = CertificateDocument(
    serial="CSDS-BASIC-2026-000123", verification_code="K7Q2-M9XD-4TPA", holder_name="王秀英",
    department_name="市财政局 预算处", certification_title_zh="公务员计算机与数字技能合格证书（基础）",
    certification_title_en="Civil-Servant Computer and Digital Skills Certificate (Foundation)",
    issued_on=dt.date(2026, 11, 22), expires_on=None, verify_url="https://train.example.gov.cn/verify/K7Q2-M9XD-4TPA",
    issuer_zh="市公务员培训中心", issuer_en="City Civil Service Training Centre",
)


def _lines(pdf: bytes) -> list[str]:
    text = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    return [line.replace(" ", "") for line in text.split("\n") if line.strip()]


def _splits(lines: list[str], words) -> list[tuple[str, str, str]]:
    """(line end, next line start, word) wherever a line break falls inside one of ``words``."""
    found = []
    for a, b in zip(lines, lines[1:]):
        for word in words:
            for k in range(1, len(word)):
                if a.endswith(word[:k]) and b.startswith(word[k:]):
                    found.append((a, b, word))
    return found


@pytest.mark.parametrize("title", SHIPPED_TITLES)
def test_title_metadata_names_the_certificate_once(title):
    pdf = render_certificate_pdf(dataclasses.replace(DOC, certification_title_zh=title))
    meta = pypdf.PdfReader(io.BytesIO(pdf)).metadata.title
    assert meta == f"{title} {DOC.serial}"  # the shipped titles already end in 合格证书（…）
    assert meta.count("证书") == 1 and meta.count("合格") == 1
    body = "".join(_lines(pdf))
    assert f"获得“{title}”。" in body  # not “…合格证书”证书
    assert "”证书" not in body
    # the heading 合格证书, the label 证书编号 and the title: nothing else says 证书
    assert body.count("证书") == 2 + title.count("证书")


def test_a_title_without_the_word_certificate_gets_it_once():
    pdf = render_certificate_pdf(dataclasses.replace(DOC, certification_title_zh="数据安全管理员"))
    assert pypdf.PdfReader(io.BytesIO(pdf)).metadata.title == f"数据安全管理员合格证书 {DOC.serial}"
    assert "获得“数据安全管理员”证书。" in "".join(_lines(pdf))


@pytest.mark.parametrize("issuer", [
    "滨江市委组织部 滨江市公务员培训中心",
    "中共滨江市委党校（滨江市行政学院）公务员培训中心",
    "滨江市人力资源和社会保障局 滨江市公务员培训中心（滨江市行政学院）",
])
@pytest.mark.parametrize("department", ["市财政局 预算处", "滨江市人力资源和社会保障局 公务员管理处 综合科",
                                        "市发展和改革委员会 国民经济综合处 计算机与数字技能考核办公室"])
def test_pdf_lines_never_break_inside_a_word(issuer, department):
    doc = dataclasses.replace(DOC, issuer_zh=issuer, department_name=department)
    lines = _lines(render_certificate_pdf(doc))
    names = ["滨江市委组织部", "滨江市公务员培训中心", "中共滨江市委党校", "滨江市行政学院", "公务员培训中心",
             "公务员管理处", "国民经济综合处", "市财政局", "预算处", "综合科"]
    assert _splits(lines, list(KEEP_TOGETHER_ZH) + names) == []
    text = "".join(lines)
    assert issuer.replace(" ", "") in text and department.replace(" ", "") in text  # nothing lost


def test_line_breaker_keeps_words_together_at_every_width():
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    for title in SHIPPED_TITLES:
        sentence = f"兹证明 王秀英 同志（市财政局 预算处）完成规定课程学习并通过考核，获得“{title}”。"
        for width_mm in range(40, 200, 3):
            lines = _break_cjk(sentence, "STSong-Light", 16, width_mm * MM, keep=KEEP_TOGETHER_ZH)
            assert "".join(lines).replace(" ", "") == sentence.replace(" ", "")
            assert _splits(lines, ["考核", "合格", "证书", "计算机", "数字技能", "公务员", "课程", "学习"]) == [], width_mm


def test_a_word_longer_than_the_line_still_breaks_rather_than_overflowing():
    from reportlab.pdfbase import pdfmetrics

    lines = _break_cjk("公务员培训中心", "STSong-Light", 16, 40, keep=("公务员培训中心",))
    assert "".join(lines) == "公务员培训中心" and len(lines) > 1
    assert all(pdfmetrics.stringWidth(line, "STSong-Light", 16) <= 40 for line in lines)


def test_a_two_line_verify_url_breaks_after_a_slash():
    from app.certification.pdf import _split_url

    url = "https://train.example.gov.cn/verify/K7Q2-M9XD-4TPA"
    assert _split_url(url, "Helvetica", 6.5, 130) == ["https://train.example.gov.cn/", "verify/K7Q2-M9XD-4TPA"]
    # no slash that fits: another separator, never a lone character on a line
    first, second = _split_url("https://civicskills.training-centre.example.gov.cn", "Helvetica", 6.5, 110)
    assert first + second == "https://civicskills.training-centre.example.gov.cn"
    assert first[-1] in ".-" and len(second) > 1
