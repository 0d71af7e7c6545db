"""Build the starter, reference and sample files of the practical tasks in this folder.

Run from the repository root: ``.venv/bin/python question_bank/tasks/build_files.py [task-id ...]``.
The generated files are committed so the content can be reviewed (open them in WPS or Office);
the tests do not compare bytes with a fresh build (zip timestamps differ) but check every committed
file scores what task.yaml and tests/practical/ say. Change this script, run it, commit both.

Cached values: openpyxl writes formulas without results, but Excel and WPS always save the result
next to a formula; ``inject_cached_values`` writes those results (computed here in Python) so the
reference files look like files saved by Excel/WPS.
"""
from __future__ import annotations

import io
import re
import sys
import zipfile
from pathlib import Path

from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

HERE = Path(__file__).resolve().parent

# --- docx helpers --------------------------------------------------------------------------------

XBS = "方正小标宋简体"
FS = "仿宋_GB2312"
HT = "黑体"
KT = "楷体_GB2312"
ST = "宋体"


def set_rfonts(rpr, east_asian: str, latin: str | None = None) -> None:
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    fonts.set(qn("w:eastAsia"), east_asian)
    fonts.set(qn("w:ascii"), latin or east_asian)
    fonts.set(qn("w:hAnsi"), latin or east_asian)


def font(run, east_asian: str, size_pt: float, bold: bool | None = None, color: str | None = None) -> None:
    """Direct formatting of a run: east-Asian (and Latin) font, size, bold, colour."""
    set_rfonts(run._r.get_or_add_rPr(), east_asian, "Times New Roman" if east_asian == FS else None)
    run.font.size = Pt(size_pt)
    if bold is not None:
        run.font.bold = bold
    if color:
        run.font.color.rgb = RGBColor.from_string(color)


def style_font(doc, style_name: str, east_asian: str, size_pt: float) -> None:
    st = doc.styles[style_name]
    set_rfonts(st.element.get_or_add_rPr(), east_asian, "Times New Roman" if east_asian == FS else None)
    st.font.size = Pt(size_pt)


def exact(paragraph_or_format, pt: float = 28.9) -> None:
    pf = getattr(paragraph_or_format, "paragraph_format", paragraph_or_format)
    pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    pf.line_spacing = Pt(pt)
    pf.space_before = Pt(0)
    pf.space_after = Pt(0)


def a4(doc, top=25.4, bottom=25.4, left=31.8, right=31.8) -> None:
    for s in doc.sections:
        s.page_width, s.page_height = Mm(210), Mm(297)
        s.top_margin, s.bottom_margin, s.left_margin, s.right_margin = Mm(top), Mm(bottom), Mm(left), Mm(right)


def gbt9704_page(doc) -> None:
    """GB/T 9704-2012: A4, 天头 37 mm, 订口 28 mm, 版心 156 × 225 mm (so bottom 35, right 26)."""
    a4(doc, 37, 35, 28, 26)


def red_rule_below(paragraph, color="FF0000") -> None:
    ppr = paragraph._p.get_or_add_pPr()
    bdr = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for k, v in (("w:val", "single"), ("w:sz", "12"), ("w:space", "1"), ("w:color", color)):
        bottom.set(qn(k), v)
    bdr.append(bottom)
    ppr.append(bdr)


def _field_runs(paragraph, instr: str, shown: str):
    def r_with(child):
        r = OxmlElement("w:r")
        r.append(child)
        paragraph._p.append(r)
        return r

    for kind in ("begin",):
        fc = OxmlElement("w:fldChar")
        fc.set(qn("w:fldCharType"), kind)
        r_with(fc)
    it = OxmlElement("w:instrText")
    it.set(qn("xml:space"), "preserve")
    it.text = f" {instr} "
    r_with(it)
    fc = OxmlElement("w:fldChar")
    fc.set(qn("w:fldCharType"), "separate")
    r_with(fc)
    t = OxmlElement("w:t")
    t.text = shown
    r_with(t)
    fc = OxmlElement("w:fldChar")
    fc.set(qn("w:fldCharType"), "end")
    r_with(fc)


def page_number_footer(doc, prefix="— ", suffix=" —", size_pt=14, align=WD_ALIGN_PARAGRAPH.CENTER) -> None:
    """Footer with ``prefix`` PAGE ``suffix`` in 宋体 ``size_pt``; the field runs get the same size."""
    for s in doc.sections:
        p = s.footer.paragraphs[0]
        p.alignment = align
        if prefix:
            font(p.add_run(prefix), ST, size_pt)
        _field_runs(p, "PAGE", "1")
        for r in p._p.findall(qn("w:r"))[-5:]:
            rpr = OxmlElement("w:rPr")
            fonts = OxmlElement("w:rFonts")
            for k in ("w:eastAsia", "w:ascii", "w:hAnsi"):
                fonts.set(qn(k), ST)
            sz = OxmlElement("w:sz")
            sz.set(qn("w:val"), str(int(size_pt * 2)))
            rpr.append(fonts)
            rpr.append(sz)
            r.insert(0, rpr)
        if suffix:
            font(p.add_run(suffix), ST, size_pt)


def raw_draft(doc) -> None:
    """A raw draft's look: Normal style 宋体 小四 (12 pt), single spacing, Word's default margins."""
    style_font(doc, "Normal", ST, 12)
    a4(doc)


def para(doc, text: str, ea: str | None = None, size: float | None = None, align=None, bold=None, color=None,
         line: float | None = None, indent_chars: int = 0):
    p = doc.add_paragraph()
    run = p.add_run(text)
    if ea:
        font(run, ea, size, bold, color)
    if align is not None:
        p.alignment = align
    if line:
        exact(p, line)
    if indent_chars and size:
        p.paragraph_format.first_line_indent = Pt(size * indent_chars)
    return p


def save(doc, path: Path) -> None:
    buf = io.BytesIO()
    doc.save(buf)
    path.write_bytes(buf.getvalue())
    print(f"wrote {path.relative_to(HERE.parent.parent)}")


# --- task: doc-gongwen-format --------------------------------------------------------------------

GW_ORG = "云溪县财政局文件"
GW_NUM = "云财发〔2026〕18号"
GW_TITLE = "云溪县财政局关于做好2027年度部门预算编制工作的通知"
GW_TO = "局机关各股室，局属各单位："
GW_BODY = [
    "根据县政府关于2027年度预算编制工作的统一部署，为做好我局2027年度部门预算编制工作，现将有关事项通知如下。",
    "一、各股室、各单位要按照“零基预算”要求，逐项核实人员、资产和项目情况，据实编制支出预算，不得虚列项目、虚增支出。",
    "二、项目支出须同时填报绩效目标，绩效目标应当明确、可衡量，未填报绩效目标的项目不纳入预算安排。",
    "三、请于2026年12月18日前将预算草案（纸质版一式两份，电子版发送至预算股邮箱）报送局预算股。",
    "联系人：预算股 李明，联系电话：0000-1234567。",
]
GW_SIGN = "云溪县财政局"
GW_DATE_RAW = "二〇二六年十二月四日"
GW_DATE = "2026年12月4日"


def gongwen(kind: str) -> Document:
    """``kind``: starter | reference | half (page, title, date right; body font, spacing, red line wrong)."""
    doc = Document()
    raw_draft(doc)
    ref = kind == "reference"
    good_title = kind in ("reference", "half")
    if good_title:
        gbt9704_page(doc)
    if ref:
        style_font(doc, "Normal", FS, 16)
        exact(doc.styles["Normal"].paragraph_format)
    para(doc, GW_ORG, XBS if good_title else None, 26 if good_title else None, WD_ALIGN_PARAGRAPH.CENTER,
         color="FF0000" if good_title else None)
    num = para(doc, GW_NUM, align=WD_ALIGN_PARAGRAPH.CENTER)
    if ref:
        red_rule_below(num)
    para(doc, "")
    para(doc, GW_TITLE, XBS if good_title else None, 22 if good_title else None,
         WD_ALIGN_PARAGRAPH.CENTER if good_title else None)
    para(doc, GW_TO)
    for text in GW_BODY:
        para(doc, text, indent_chars=2 if ref else 0, size=16 if ref else None)
    para(doc, "")
    para(doc, GW_SIGN, align=WD_ALIGN_PARAGRAPH.RIGHT if good_title else None)
    para(doc, GW_DATE if good_title else GW_DATE_RAW, align=WD_ALIGN_PARAGRAPH.RIGHT if good_title else None)
    if ref:
        page_number_footer(doc)
    return doc


def build_gongwen() -> None:
    folder = HERE / "doc-gongwen-format"
    folder.mkdir(exist_ok=True)
    save(gongwen("starter"), folder / "starter.docx")
    save(gongwen("reference"), folder / "reference.docx")
    save(gongwen("half"), folder / "half_right.docx")


BUILDERS = {
    "doc-gongwen-format": build_gongwen,
}


def main(argv: list[str]) -> int:
    names = argv or list(BUILDERS)
    for name in names:
        BUILDERS[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
