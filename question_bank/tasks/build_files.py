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
sys.path.insert(0, str(HERE.parent.parent))

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



# --- task: doc-qingshi ---------------------------------------------------------------------------

QS_TITLE = "云溪县教育局关于申请拨付2027年农村学校冬季取暖改造资金的请示"
QS_BODY = [
    "我县现有农村中小学28所，其中12所学校仍使用燃煤小锅炉取暖，设备老化，存在安全隐患，也不符合大气污染防治要求。",
    "经县住建局、县生态环境局联合评估，12所学校改用空气源热泵取暖，共需资金486万元，其中设备购置368万元、安装及配套改造118万元。",
    "为保障农村学校师生冬季正常教学，恳请县人民政府从2027年县级财政预算中安排专项资金486万元，用于上述学校取暖改造。",
]


def qingshi(kind: str) -> Document:
    """starter: raw draft (two recipients, vague closing, no 签发人, no 附注, Chinese-numeral date);
    reference: all fixed; half: page, title and body formatting right, content fixes not done."""
    doc = Document()
    raw_draft(doc)
    fmt = kind in ("reference", "half")
    ref = kind == "reference"
    if fmt:
        gbt9704_page(doc)
        style_font(doc, "Normal", FS, 16)
        exact(doc.styles["Normal"].paragraph_format)
    if ref:
        para(doc, "签发人：王建国", align=WD_ALIGN_PARAGRAPH.RIGHT)
    para(doc, "")
    para(doc, QS_TITLE, XBS if fmt else None, 22 if fmt else None, WD_ALIGN_PARAGRAPH.CENTER if fmt else None)
    para(doc, "县人民政府：" if ref else "县人民政府、县财政局：")
    for text in QS_BODY:
        para(doc, text, size=16 if fmt else None, indent_chars=2 if fmt else 0)
    para(doc, "妥否，请批示。" if ref else "以上请示当否，请领导审阅。", size=16 if fmt else None,
         indent_chars=2 if fmt else 0)
    para(doc, "")
    para(doc, "云溪县教育局", align=WD_ALIGN_PARAGRAPH.RIGHT if fmt else None)
    para(doc, "2026年12月4日" if ref else "二〇二六年十二月四日", align=WD_ALIGN_PARAGRAPH.RIGHT if fmt else None)
    if ref:
        para(doc, "（联系人：张华，联系电话：0000-7654321）", size=16, indent_chars=2)
    else:
        para(doc, "联系人张华 电话0000-7654321")
    return doc


def build_qingshi() -> None:
    folder = HERE / "doc-qingshi"
    folder.mkdir(exist_ok=True)
    save(qingshi("starter"), folder / "starter.docx")
    save(qingshi("reference"), folder / "reference.docx")
    save(qingshi("half"), folder / "half_right.docx")


# --- task: doc-tongzhi ---------------------------------------------------------------------------

TZ_TITLE = "云溪县人力资源和社会保障局关于组织参加2027年度数字技能培训的通知"
TZ_CONTENT = [
    ("p", "局机关各股室，局属各单位："),
    ("p", "为提高机关干部数字化办公能力，根据全县干部教育培训计划，局机关定于2027年1月组织数字技能培训。现将有关事项通知如下。"),
    ("h1", "一、培训安排"),
    ("h2", "（一）培训对象"),
    ("p", "局机关全体在编干部和局属单位中层以上干部。"),
    ("h2", "（二）培训时间和方式"),
    ("p", "2027年1月5日至1月20日，采取线上自学和集中考试相结合的方式，线上学习不少于12学时。"),
    ("h1", "二、工作要求"),
    ("h2", "（一）按时报名"),
    ("p", "请各股室、各单位于2026年12月20日前将报名表报送局办公室。"),
    ("h2", "（二）认真学习"),
    ("p", "参训人员要按时完成线上课程，考试成绩纳入年度学习考核。"),
]


def tongzhi(kind: str) -> Document:
    """starter: all 宋体 小四, attachment note in a loose form, no page numbers;
    reference: GB/T 9704 levels (一、黑体；（一）楷体_GB2312；正文仿宋_GB2312, all 3号), 附件说明, page numbers;
    half: title and 一级标题 right, 二级标题 and body not, attachment note loose, no page number."""
    doc = Document()
    raw_draft(doc)
    ref = kind == "reference"
    half = kind == "half"
    fmt = ref or half
    if fmt:
        gbt9704_page(doc)
    if ref:
        style_font(doc, "Normal", FS, 16)
        exact(doc.styles["Normal"].paragraph_format)
    para(doc, TZ_TITLE, XBS if fmt else None, 22 if fmt else None, WD_ALIGN_PARAGRAPH.CENTER if fmt else None)
    for level, text in TZ_CONTENT:
        if level == "h1" and fmt:
            para(doc, text, HT, 16, indent_chars=2)
        elif level == "h2" and ref:
            para(doc, text, KT, 16, indent_chars=2)
        else:
            para(doc, text, size=16 if ref else None, indent_chars=2 if ref else 0)
    para(doc, "")
    if ref:
        para(doc, "附件：1.数字技能培训报名表", size=16, indent_chars=2)
        para(doc, "2.线上课程学习指南", size=16, indent_chars=5)
    else:
        para(doc, "附：报名表、学习指南")
    para(doc, "")
    para(doc, "云溪县人力资源和社会保障局", align=WD_ALIGN_PARAGRAPH.RIGHT if fmt else None)
    para(doc, "2026年12月4日", align=WD_ALIGN_PARAGRAPH.RIGHT if fmt else None)
    if ref:
        page_number_footer(doc)
    return doc


def build_tongzhi() -> None:
    folder = HERE / "doc-tongzhi"
    folder.mkdir(exist_ok=True)
    save(tongzhi("starter"), folder / "starter.docx")
    save(tongzhi("reference"), folder / "reference.docx")
    save(tongzhi("half"), folder / "half_right.docx")


# --- task: doc-table -----------------------------------------------------------------------------

TB_TITLE = "2027年第一季度办公用品采购计划表"
TB_HEADER = ["序号", "品名", "规格", "数量", "单价（元）"]
TB_ROWS = [
    ["1", "A4复印纸", "70克 500张/包", "40", "23.50"],
    ["2", "中性笔", "0.5毫米 黑色", "120", "1.80"],
    ["3", "文件盒", "A4 背宽55毫米", "60", "6.00"],
    ["4", "硒鼓", "兼容型 黑色", "8", "168.00"],
    ["5", "订书钉", "24/6 1000枚/盒", "30", "2.50"],
]


def table_doc(kind: str) -> Document:
    """starter: the title and the list as comma-separated lines; reference: a 6 × 5 table with a bold,
    repeating header row, title centred, the raw lines removed; half: table made (6 × 5, header
    texts) and raw lines removed, but header neither bold nor repeating and title not centred."""
    doc = Document()
    raw_draft(doc)
    ref = kind == "reference"
    para(doc, "云溪县司法局办公室")
    para(doc, TB_TITLE, HT if ref else None, 16 if ref else None, WD_ALIGN_PARAGRAPH.CENTER if ref else None)
    if kind == "starter":
        para(doc, "，".join(TB_HEADER))
        for row in TB_ROWS:
            para(doc, "，".join(row))
    else:
        t = doc.add_table(rows=1 + len(TB_ROWS), cols=len(TB_HEADER))
        t.style = doc.styles["Table Grid"]
        t.alignment = WD_TABLE_ALIGNMENT.CENTER
        for i, text in enumerate(TB_HEADER):
            cell = t.rows[0].cells[i]
            run = cell.paragraphs[0].add_run(text)
            if ref:
                run.font.bold = True
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        for r, row in enumerate(TB_ROWS, 1):
            for c, text in enumerate(row):
                t.rows[r].cells[c].paragraphs[0].add_run(text)
        if ref:
            trpr = t.rows[0]._tr.get_or_add_trPr()
            th = OxmlElement("w:tblHeader")
            trpr.append(th)
    para(doc, "说明：单价为2026年第四季度县政府采购协议供货价，以实际采购价格为准。")
    return doc


def build_table() -> None:
    folder = HERE / "doc-table"
    folder.mkdir(exist_ok=True)
    save(table_doc("starter"), folder / "starter.docx")
    save(table_doc("reference"), folder / "reference.docx")
    save(table_doc("half"), folder / "half_right.docx")


# --- task: doc-mail-merge ------------------------------------------------------------------------

MM_DEPTS = ["办公室", "预算股", "国库股", "综合股", "农业股", "社会保障股"]
MM_TITLE = "关于报送2026年度固定资产盘点表的通知"
MM_BODY = [
    "根据年度资产管理工作安排，请你股室对本股室使用的固定资产进行全面盘点，核对资产卡片与实物，填写固定资产盘点表。",
    "请于2026年12月25日前将盘点表（加盖股室负责人签字）报送局办公室，电子版发送至内网邮箱。",
]


def notice_page(doc, dept: str, first: bool) -> None:
    p = para(doc, MM_TITLE, XBS, 22, WD_ALIGN_PARAGRAPH.CENTER)
    if not first:
        p.paragraph_format.page_break_before = False
    para(doc, f"{dept}：", FS, 16, line=28.9)
    for text in MM_BODY:
        para(doc, text, FS, 16, line=28.9, indent_chars=2)
    para(doc, "云溪县财政局办公室", FS, 16, WD_ALIGN_PARAGRAPH.RIGHT, line=28.9)
    para(doc, "2026年12月4日", FS, 16, WD_ALIGN_PARAGRAPH.RIGHT, line=28.9)


def merge_doc(kind: str) -> Document:
    """starter: the notice with the merge field «部门名称» and, on a second page, the list of
    recipients; reference: six notices, one per division, separated by page breaks (what WPS
    邮件合并 → 合并到新文档 gives); half: six notices but without page breaks."""
    doc = Document()
    a4(doc)
    style_font(doc, "Normal", FS, 16)
    if kind == "starter":
        notice_page(doc, "«部门名称»", True)
        doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        para(doc, "收件单位（邮件合并数据，合并完成后请删除本页）：", HT, 16)
        for d in MM_DEPTS:
            para(doc, d, FS, 16)
        return doc
    for i, dept in enumerate(MM_DEPTS):
        notice_page(doc, dept, i == 0)
        if i < len(MM_DEPTS) - 1:
            if kind == "reference":
                doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
            else:
                doc.add_paragraph()
    return doc


def build_merge() -> None:
    folder = HERE / "doc-mail-merge"
    folder.mkdir(exist_ok=True)
    save(merge_doc("starter"), folder / "starter.docx")
    save(merge_doc("reference"), folder / "reference.docx")
    save(merge_doc("half"), folder / "half_right.docx")



# --- xlsx helpers --------------------------------------------------------------------------------

def _xlsx_bytes(wb) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def inject_cached_values(data: bytes) -> bytes:
    """Store each formula's result next to it, as Excel and WPS do when saving. The results are
    computed by LibreOffice (``soffice --headless``, see app/practical/recalc.py); the file itself
    stays as openpyxl wrote it apart from the ``<v>`` elements."""
    import os

    from lxml import etree

    from app.practical.recalc import recalculated_workbook

    os.environ["PRACTICAL_LIBREOFFICE_RECALC"] = "1"
    values = recalculated_workbook(data)
    if values is None:
        raise SystemExit("LibreOffice (soffice) is needed to compute cached values")
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    zin = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            body = zin.read(info.filename)
            m = re.fullmatch(r"xl/worksheets/sheet(\d+)\.xml", info.filename)
            if m:
                ws = values.worksheets[int(m.group(1)) - 1]
                root = etree.fromstring(body)
                for c in root.iter(f"{{{ns}}}c"):
                    if c.find(f"{{{ns}}}f") is None:
                        continue
                    v = c.find(f"{{{ns}}}v")
                    if v is None:
                        v = etree.SubElement(c, f"{{{ns}}}v")
                    value = ws[c.get("r")].value
                    if isinstance(value, str) and value.startswith("#"):
                        c.set("t", "e")
                        v.text = value
                    elif isinstance(value, str):
                        c.set("t", "str")
                        v.text = value
                    elif isinstance(value, bool):
                        c.set("t", "b")
                        v.text = "1" if value else "0"
                    elif value is None:
                        c.remove(v)
                    else:
                        c.attrib.pop("t", None)
                        v.text = repr(float(value)) if isinstance(value, float) else str(value)
                body = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
            zout.writestr(info, body)
    return out.getvalue()


def save_xlsx(wb, path: Path, cached: bool = True) -> None:
    data = _xlsx_bytes(wb)
    if cached:
        data = inject_cached_values(data)
    path.write_bytes(data)
    print(f"wrote {path.relative_to(HERE.parent.parent)}")


def header_row(ws, names, widths=None):
    from openpyxl.styles import Font as XFont

    for i, name in enumerate(names, 1):
        cell = ws.cell(row=1, column=i, value=name)
        cell.font = XFont(bold=True)
    for letter, width in (widths or {}).items():
        ws.column_dimensions[letter].width = width


# --- task: xls-formulas-refs ---------------------------------------------------------------------

FR_ROWS = [("办公室", 120, 96.5), ("人事股", 45, 38.2), ("预算股", 60, 51.0), ("国库股", 55, 40.7),
           ("综合股", 80, 72.3), ("农业股", 150, 118.6), ("社会保障股", 210, 189.4), ("信息中心", 90, 63.9)]


def formulas_wb(kind: str):
    """starter: data only; reference: 执行率 =C/B, 占比 =B/$B$10, totals, percent format;
    half: 执行率 and totals right, 占比 with a relative reference (=B2/B10 filled down: #DIV/0!)."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "预算执行"
    header_row(ws, ["科室", "预算数（万元）", "已支出（万元）", "执行率", "占总预算比重"],
               {"A": 12, "B": 16, "C": 16, "D": 12, "E": 14})
    for r, (name, budget, spent) in enumerate(FR_ROWS, 2):
        ws.cell(r, 1, name), ws.cell(r, 2, budget), ws.cell(r, 3, spent)
    total = len(FR_ROWS) + 2
    ws.cell(total, 1, "合计")
    if kind == "starter":
        return wb
    ws.cell(total, 2, f"=SUM(B2:B{total - 1})")
    ws.cell(total, 3, f"=SUM(C2:C{total - 1})")
    for r in range(2, total + 1):
        ws.cell(r, 4, f"=C{r}/B{r}")
        if r < total:
            ws.cell(r, 5, f"=B{r}/$B${total}" if kind == "reference" else f"=B{r}/B{r + total - 2}")
        if kind == "reference":
            ws.cell(r, 4).number_format = "0.00%"
            ws.cell(r, 5).number_format = "0.00%"
    return wb


def build_formulas() -> None:
    folder = HERE / "xls-formulas-refs"
    folder.mkdir(exist_ok=True)
    save_xlsx(formulas_wb("starter"), folder / "starter.xlsx", cached=False)
    save_xlsx(formulas_wb("reference"), folder / "reference.xlsx")
    save_xlsx(formulas_wb("half"), folder / "half_right.xlsx")


# --- task: xls-sort-filter -----------------------------------------------------------------------

SF_ITEMS = [("办公室", "A4复印纸", 40, 940), ("预算股", "中性笔", 120, 216), ("国库股", "文件盒", 60, 360),
            ("综合股", "硒鼓", 8, 1344), ("办公室", "订书机", 10, 258), ("农业股", "档案袋", 200, 300),
            ("办公室", "移动硬盘", 2, 798), ("预算股", "计算器", 6, 252), ("国库股", "凭证装订机", 1, 2680),
            ("综合股", "A3复印纸", 10, 420), ("办公室", "会议记录本", 50, 450), ("农业股", "U盘", 12, 576),
            ("预算股", "A4复印纸", 20, 470), ("办公室", "碎纸机", 1, 1580), ("国库股", "印泥", 10, 85),
            ("综合股", "文件柜", 2, 1960), ("农业股", "中性笔", 100, 180), ("办公室", "白板笔", 30, 66),
            ("预算股", "打印机墨盒", 4, 1120), ("国库股", "点钞机", 1, 1350)]


def sortfilter_wb(kind: str):
    """starter: register in entry order; reference: sorted by 金额 descending, filter on 科室 = 办公室
    (other rows hidden, as Excel/WPS leave them); half: sorted, no filter."""
    import datetime

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "采购台账"
    header_row(ws, ["序号", "日期", "科室", "物品", "数量", "金额（元）"], {"B": 12, "D": 14, "F": 12})
    rows = [(i + 1, datetime.date(2026, 10, 8) + datetime.timedelta(days=3 * i), *item) for i, item in enumerate(SF_ITEMS)]
    if kind != "starter":
        rows.sort(key=lambda row: -row[5])
    for r, row in enumerate(rows, 2):
        for c, value in enumerate(row, 1):
            ws.cell(r, c, value)
        ws.cell(r, 2).number_format = "yyyy-mm-dd"
    if kind == "reference":
        ws.auto_filter.ref = f"A1:F{len(rows) + 1}"
        ws.auto_filter.add_filter_column(2, ["办公室"])
        for r, row in enumerate(rows, 2):
            if row[2] != "办公室":
                ws.row_dimensions[r].hidden = True
    return wb


def build_sortfilter() -> None:
    folder = HERE / "xls-sort-filter"
    folder.mkdir(exist_ok=True)
    for kind, name in (("starter", "starter"), ("reference", "reference"), ("half", "half_right")):
        save_xlsx(sortfilter_wb(kind), folder / f"{name}.xlsx", cached=False)


# --- task: xls-sumifs ----------------------------------------------------------------------------

SU_DEPTS = ["办公室", "预算股", "国库股", "综合股", "农业股"]
SU_KINDS = ["差旅费", "办公费", "培训费"]


def sumifs_rows():
    rows = []
    for i in range(33):
        dept = SU_DEPTS[i % 5]
        kind = SU_KINDS[(i // 5 + i // 10) % 3]
        amount = 180 + (i * 137) % 1450
        rows.append((i + 1, dept, kind, amount))
    return rows


def sumifs_wb(kind: str):
    """starter: 报销明细 + an empty 汇总 table; reference: SUMIFS (科室 and 差旅费) and COUNTIFS;
    half: SUMIF on 科室 only (every category added, wrong) and COUNTIFS right."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "报销明细"
    header_row(ws, ["序号", "科室", "类别", "金额（元）"], {"B": 12, "D": 12})
    rows = sumifs_rows()
    for r, row in enumerate(rows, 2):
        for c, value in enumerate(row, 1):
            ws.cell(r, c, value)
    last = len(rows) + 1
    sm = wb.create_sheet("汇总")
    header_row(sm, ["科室", "差旅费合计（元）", "报销笔数"], {"A": 12, "B": 18, "C": 12})
    for r, dept in enumerate(SU_DEPTS, 2):
        sm.cell(r, 1, dept)
        if kind == "starter":
            continue
        if kind == "reference":
            sm.cell(r, 2, f'=SUMIFS(报销明细!$D$2:$D${last},报销明细!$B$2:$B${last},A{r},报销明细!$C$2:$C${last},"差旅费")')
        else:
            sm.cell(r, 2, f"=SUMIF(报销明细!$B$2:$B${last},A{r},报销明细!$D$2:$D${last})")
        sm.cell(r, 3, f"=COUNTIFS(报销明细!$B$2:$B${last},A{r})")
    return wb


def build_sumifs() -> None:
    folder = HERE / "xls-sumifs"
    folder.mkdir(exist_ok=True)
    save_xlsx(sumifs_wb("starter"), folder / "starter.xlsx", cached=False)
    save_xlsx(sumifs_wb("reference"), folder / "reference.xlsx")
    save_xlsx(sumifs_wb("half"), folder / "half_right.xlsx")


# --- task: xls-pivot -----------------------------------------------------------------------------

PV_UNITS = ["县财政局", "县教育局", "县卫健委", "县市场监管局"]
PV_COURSES = [("公文格式排版", 4), ("电子表格公式与函数", 6), ("信息安全保密", 3)]
PV_NAMES = ["王芳", "李强", "张敏", "刘洋", "陈静", "杨帆", "赵磊", "黄丽", "周杰", "吴娟", "徐斌", "孙悦"]


def pivot_rows():
    rows = []
    for i, name in enumerate(PV_NAMES):
        unit = PV_UNITS[i % 4]
        for j, (course, hours) in enumerate(PV_COURSES):
            if (i + j) % 4 != 3:
                rows.append((unit, name, course, hours))
    return rows


def add_pivot(wb, data_ws, rows, target, row_field: int, data_field: int, function: str, names):
    """A pivot table (rows ``names[row_field]``, values ``function`` of ``names[data_field]``) on
    ``target`` at A3, with the cache's shared items and records, the rendered cells, and
    refreshOnLoad so Excel/WPS rebuild it when the file is opened."""
    from openpyxl.pivot.cache import CacheDefinition, CacheField, CacheSource, SharedItems, WorksheetSource
    from openpyxl.pivot.fields import Index, Number, Text
    from openpyxl.pivot.record import Record, RecordList
    from openpyxl.pivot.table import (DataField, FieldItem, Location, PivotField, PivotTableStyle, RowColField,
                                      RowColItem, TableDefinition)

    ncols = len(names)
    uniques = [sorted({row[c] for row in rows}, key=lambda v: (str(type(v)), v)) for c in range(ncols)]
    fields = []
    for c, name in enumerate(names):
        if all(isinstance(v, str) for v in uniques[c]):
            items = SharedItems(count=len(uniques[c]))
            items._fields = [Text(v=v) for v in uniques[c]]
        else:
            items = SharedItems(containsSemiMixedTypes=False, containsString=False, containsNumber=True,
                                containsInteger=True, minValue=min(uniques[c]), maxValue=max(uniques[c]))
        fields.append(CacheField(name=name, numFmtId=0, sharedItems=items))
    ref = f"A1:{chr(64 + ncols)}{len(rows) + 1}"
    cache = CacheDefinition(refreshOnLoad=True, recordCount=len(rows), createdVersion=6, refreshedVersion=6,
                            minRefreshableVersion=3,
                            cacheSource=CacheSource(type="worksheet", worksheetSource=WorksheetSource(ref=ref, sheet=data_ws.title)),
                            cacheFields=fields)
    records = []
    for row in rows:
        rec = Record()
        rec._fields = []
        for c, v in enumerate(row):
            if isinstance(v, str):
                rec._fields.append(Index(v=uniques[c].index(v)))
            else:
                rec._fields.append(Number(v=v))
        records.append(rec)
    cache.records = RecordList(r=records, count=len(records))
    groups = uniques[row_field]
    pfields = []
    for c in range(ncols):
        if c == row_field:
            items = [FieldItem(x=i) for i in range(len(groups))] + [FieldItem(t="default")]
            pfields.append(PivotField(axis="axisRow", showAll=False, items=items))
        elif c == data_field:
            pfields.append(PivotField(dataField=True, showAll=False))
        else:
            pfields.append(PivotField(showAll=False))
    caption = {"sum": "求和项", "count": "计数项"}[function]
    table = TableDefinition(name="数据透视表1", cacheId=1, dataCaption="值", updatedVersion=6, minRefreshableVersion=3,
                            createdVersion=6, useAutoFormatting=True, itemPrintTitles=True, indent=0, outline=True,
                            outlineData=True, applyNumberFormats=False, applyBorderFormats=False, applyFontFormats=False,
                            applyPatternFormats=False, applyAlignmentFormats=False, applyWidthHeightFormats=True,
                            location=Location(ref=f"A3:B{4 + len(groups)}", firstHeaderRow=1, firstDataRow=1, firstDataCol=1),
                            pivotFields=pfields, rowFields=[RowColField(x=row_field)],
                            rowItems=[RowColItem(x=[Index(v=i)]) for i in range(len(groups))]
                            + [RowColItem(t="grand", x=[Index(v=0)])],
                            colItems=[RowColItem()],
                            dataFields=[DataField(name=f"{caption}:{names[data_field]}", fld=data_field, baseField=0,
                                                  baseItem=0, subtotal=function)],
                            pivotTableStyleInfo=PivotTableStyle(name="PivotStyleLight16", showRowHeaders=True,
                                                                showColHeaders=True, showRowStripes=False,
                                                                showColStripes=False, showLastColumn=True))
    table.cache = cache
    target._pivots.append(table)
    # the rendered table, as a spreadsheet program leaves it in the cells
    target["A3"], target["B3"] = "行标签", f"{caption}:{names[data_field]}"
    for i, g in enumerate(groups, 4):
        vals = [row[data_field] for row in rows if row[row_field] == g]
        target.cell(i, 1, g)
        target.cell(i, 2, sum(vals) if function == "sum" else len(vals))
    target.cell(4 + len(groups), 1, "总计")
    target.cell(4 + len(groups), 2, sum(r[data_field] for r in rows) if function == "sum" else len(rows))


def pivot_wb(kind: str):
    """starter: the register only; reference: sheet 学时汇总 with a pivot (rows 单位, sum of 学时);
    half: the pivot on 学时汇总 but counting 学时 instead of adding it up."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "培训台账"
    names = ["单位", "姓名", "课程", "学时"]
    header_row(ws, names, {"A": 16, "C": 20})
    rows = pivot_rows()
    for r, row in enumerate(rows, 2):
        for c, value in enumerate(row, 1):
            ws.cell(r, c, value)
    if kind != "starter":
        target = wb.create_sheet("学时汇总", 0)
        add_pivot(wb, ws, rows, target, 0, 3, "sum" if kind == "reference" else "count", names)
    return wb


def build_pivot() -> None:
    folder = HERE / "xls-pivot"
    folder.mkdir(exist_ok=True)
    for kind, name in (("starter", "starter"), ("reference", "reference"), ("half", "half_right")):
        save_xlsx(pivot_wb(kind), folder / f"{name}.xlsx", cached=False)


# --- task: xls-chart -----------------------------------------------------------------------------

CH_MONTHS = [1180, 1065, 1342, 1290, 1410, 980, 1125, 1230, 1368, 1452, 1310, 1505]


def chart_wb(kind: str):
    """starter: the figures; reference: a column chart of B2:B13 by month with a title and a red
    highlight (conditional format) of months under 1000; half: the column chart without a title,
    no highlight."""
    import openpyxl
    from openpyxl.chart import BarChart, Reference
    from openpyxl.formatting.rule import CellIsRule
    from openpyxl.styles import Font as XFont
    from openpyxl.styles import PatternFill

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "月度办件量"
    header_row(ws, ["月份", "办件量（件）"], {"B": 14})
    for i, n in enumerate(CH_MONTHS, 2):
        ws.cell(i, 1, f"{i - 1}月")
        ws.cell(i, 2, n)
    if kind == "starter":
        return wb
    chart = BarChart()
    chart.type = "col"
    chart.add_data(Reference(ws, min_col=2, min_row=1, max_row=13), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=13))
    if kind == "reference":
        chart.title = "2026年县政务服务中心月度办件量"
        ws.conditional_formatting.add("B2:B13", CellIsRule(operator="lessThan", formula=["1000"],
                                                           font=XFont(color="9C0006"),
                                                           fill=PatternFill("solid", start_color="FFC7CE",
                                                                            end_color="FFC7CE")))
    ws.add_chart(chart, "D2")
    return wb


def build_chart() -> None:
    folder = HERE / "xls-chart"
    folder.mkdir(exist_ok=True)
    for kind, name in (("starter", "starter"), ("reference", "reference"), ("half", "half_right")):
        save_xlsx(chart_wb(kind), folder / f"{name}.xlsx", cached=False)



# --- pptx helpers --------------------------------------------------------------------------------

def chart_png() -> io.BytesIO:
    """A small bar-chart picture (PNG) drawn with Pillow, used as the picture in the decks."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (640, 400), "white")
    d = ImageDraw.Draw(img)
    d.line((60, 350, 600, 350), fill="black", width=3)
    d.line((60, 40, 60, 350), fill="black", width=3)
    for i, h in enumerate((120, 180, 150, 240, 290)):
        d.rectangle((100 + i * 100, 350 - h, 160 + i * 100, 349), fill=(192, 0, 0))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    buf.seek(0)
    return buf


def save_pptx(prs, path: Path) -> None:
    buf = io.BytesIO()
    prs.save(buf)
    path.write_bytes(buf.getvalue())
    print(f"wrote {path.relative_to(HERE.parent.parent)}")


def add_slide(prs, layout: int, title: str, bullets=(), size_pt=None, notes: str | None = None):
    from pptx.util import Pt as PPt

    slide = prs.slides.add_slide(prs.slide_layouts[layout])
    slide.shapes.title.text = title
    if bullets:
        body = slide.placeholders[1].text_frame
        body.text = bullets[0]
        for b in bullets[1:]:
            body.add_paragraph().text = b
        if size_pt:
            for p in body.paragraphs:
                for r in p.runs:
                    r.font.size = PPt(size_pt)
    if notes:
        slide.notes_slide.notes_text_frame.text = notes
    return slide


def delete_slide(prs, index: int) -> None:
    sld_ids = prs.slides._sldIdLst
    sld = list(sld_ids)[index]
    prs.part.drop_rel(sld.rId)
    sld_ids.remove(sld)


# --- task: ppt-briefing --------------------------------------------------------------------------

BR_TITLE = "2026年度数字政府建设工作汇报"
BR_SLIDES = [
    ("工作概况", ["完成县级政务云扩容，承载业务系统46个", "“一网通办”事项可网办率达到96%", "全年组织干部数字技能培训12期"]),
    ("主要成效", ["政务服务平均办理时间缩短38%", "群众办事“最多跑一次”事项占比92%"]),
    ("存在问题", ["部分部门数据共享不及时", "基层干部数字技能参差不齐"]),
]
BR_NEXT = ("下一步工作打算", ["推进部门数据按需共享", "完成全员数字技能轮训", "建设县级数据资源目录"])


def briefing(kind: str):
    """starter: 4 content slides (the first should be a title slide) + a 素材 slide holding the picture;
    reference: title slide, picture moved to slide 3, 素材 deleted, notes on slides 2 and 3, new slide 5;
    half: title slide fixed and new slide 5 added, picture still on the 素材 slide (6 slides), no notes."""
    from pptx import Presentation
    from pptx.util import Inches

    prs = Presentation()
    ref = kind == "reference"
    if kind == "starter":
        add_slide(prs, 1, BR_TITLE, ["云溪县数据资源管理局", "2026年12月"])
    else:
        s = prs.slides.add_slide(prs.slide_layouts[0])
        s.shapes.title.text = BR_TITLE
        s.placeholders[1].text = "云溪县数据资源管理局\n2026年12月"
    notes = {"工作概况": "重点说明政务云扩容和一网通办的进展，数据截至11月底。",
             "主要成效": "办理时间缩短的数据来自政务服务中心系统统计，与去年同期相比。"}
    for title, bullets in BR_SLIDES:
        slide = add_slide(prs, 1, title, bullets, notes=notes.get(title) if ref else None)
        if ref and title == "主要成效":
            slide.shapes.add_picture(chart_png(), Inches(5.5), Inches(4.2), width=Inches(4))
    if kind != "starter":
        add_slide(prs, 1, *BR_NEXT)
    if not ref:
        s = add_slide(prs, 5, "素材（用完请删除本页）")
        s.shapes.add_picture(chart_png(), Inches(2), Inches(2), width=Inches(5))
    return prs


def build_briefing() -> None:
    folder = HERE / "ppt-briefing"
    folder.mkdir(exist_ok=True)
    for kind, name in (("starter", "starter"), ("reference", "reference"), ("half", "half_right")):
        save_pptx(briefing(kind), folder / f"{name}.pptx")


# --- task: ppt-training --------------------------------------------------------------------------

TR_SLIDES = [
    ("一、为什么要重视保密", ["涉密信息一旦泄露，可能危害国家安全和利益", "网络攻击和社会工程学手段越来越隐蔽"]),
    ("二、常见违规行为", ["在互联网计算机上处理涉密信息", "涉密移动介质在内外网之间交叉使用", "用微信、邮箱传递内部文件"]),
    ("三、日常工作要求", ["涉密不上网，上网不涉密", "移动介质专人管理、定期检查", "发现问题及时报告保密办"]),
]


def training(kind: str):
    """starter: one title slide; reference: title + 3 content slides, body text 24 pt on slide 2,
    notes on slide 4; half: the 4 slides with titles but body text 16 pt and no notes."""
    from pptx import Presentation

    prs = Presentation()
    s = prs.slides.add_slide(prs.slide_layouts[0])
    s.shapes.title.text = "信息安全保密培训"
    s.placeholders[1].text = "云溪县机关事务管理局  2026年12月"
    if kind == "starter":
        return prs
    for i, (title, bullets) in enumerate(TR_SLIDES):
        notes = "最后强调：发现疑似泄密情况，要在第一时间向单位保密办报告，不要自行处理。" \
            if kind == "reference" and i == 2 else None
        add_slide(prs, 1, title, bullets, size_pt=24 if kind == "reference" else 16, notes=notes)
    return prs


def build_training() -> None:
    folder = HERE / "ppt-training"
    folder.mkdir(exist_ok=True)
    for kind, name in (("starter", "starter"), ("reference", "reference"), ("half", "half_right")):
        save_pptx(training(kind), folder / f"{name}.pptx")


BUILDERS = {
    "doc-gongwen-format": build_gongwen,
    "doc-qingshi": build_qingshi,
    "doc-tongzhi": build_tongzhi,
    "doc-table": build_table,
    "doc-mail-merge": build_merge,
    "xls-formulas-refs": build_formulas,
    "xls-sort-filter": build_sortfilter,
    "xls-sumifs": build_sumifs,
    "xls-pivot": build_pivot,
    "xls-chart": build_chart,
    "ppt-briefing": build_briefing,
    "ppt-training": build_training,
}


def main(argv: list[str]) -> int:
    names = argv or list(BUILDERS)
    for name in names:
        BUILDERS[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
