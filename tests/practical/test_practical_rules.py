"""Each rule kind passes and fails where it should; task.yaml errors are located (file, line, field);
``check_in_subprocess`` gives a plain "could not be checked" result on timeout or crash."""
from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from docx import Document
from docx.enum.text import WD_BREAK, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt

from app.practical.checking import FILE_RULE_ID, check_file, check_in_subprocess
from app.practical.documents import DocxDoc, PptxDoc, XlsxDoc
from app.practical.rules import REGISTRY, TaskFileError, Where
from app.practical.tasks import load_all_tasks, load_task
from app.practical.validate import validate_tasks

TASKS = Path(__file__).resolve().parents[2] / "question_bank" / "tasks"
ALL = load_all_tasks(TASKS)


def rule(kind: str, **fields):
    spec = {"id": "r", "kind": kind, "points": 2, "description_zh": "说明", "description_en": "what", **fields}
    return REGISTRY[kind].from_yaml(spec, Where(Path("task.yaml"), 1))


def docx_bytes(doc) -> bytes:
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def test_every_rule_kind_passes_and_fails_on_the_shipped_files():
    """Across the shipped tasks every registered kind is used, passes on a reference file and fails
    on a starter or half-right file, with plain detail in both languages."""
    outcomes: dict[str, set[bool]] = {k: set() for k in REGISTRY}
    for task in ALL:
        for path in sorted(task.folder.glob(f"*.{task.kind}")):
            for r in check_file(task, path.read_bytes()).rules:
                kind = next(x.kind for x in task.rules if x.id == r.rule_id)
                outcomes[kind].add(r.passed)
                assert r.detail_zh and r.detail_en
    assert {k: v for k, v in outcomes.items() if v != {True, False}} == {}


# --- docx ---------------------------------------------------------------------------------------

def test_font_reads_style_inheritance_and_names_the_actual_font():
    doc = Document()
    normal = doc.styles["Normal"]
    rpr = normal.element.get_or_add_rPr()
    fonts = OxmlElement("w:rFonts")
    fonts.set(qn("w:eastAsia"), "仿宋_GB2312")
    rpr.insert(0, fonts)
    normal.font.size = Pt(16)
    doc.add_paragraph("正文第一段，沿用正文样式。")
    odd = doc.add_paragraph().add_run("这一段直接设成了宋体小四。")
    odd_fonts = OxmlElement("w:rFonts")
    odd_fonts.set(qn("w:eastAsia"), "宋体")
    odd._r.get_or_add_rPr().insert(0, odd_fonts)
    odd.font.size = Pt(12)
    d = DocxDoc(docx_bytes(doc))
    body = rule("font", east_asian=["仿宋_GB2312", "仿宋"], size="三号")
    result = body.check(d)
    assert not result.passed and "宋体 小四（12磅）" in result.detail_zh and "SimSun" not in result.detail_zh
    assert rule("font", match="沿用", east_asian=["仿宋"], size_pt=16).check(d).passed is False  # 仿宋_GB2312 ≠ 仿宋
    assert rule("font", match="沿用", east_asian=["仿宋_GB2312"], size_pt=16).check(d).passed
    with pytest.raises(TaskFileError, match="size"):
        rule("font", size="七号")


def test_font_theme_east_asian_font_resolves():
    d = DocxDoc(docx_bytes(Document()))  # python-docx's template: Normal takes its fonts from the theme
    doc = d.document
    doc.add_paragraph("主题字体")
    # docDefaults say eastAsiaTheme="minorEastAsia"; the theme's minor font for Hans is 宋体
    r = rule("font", east_asian=["不存在的字体"]).check(DocxDoc(docx_bytes(doc)))
    assert not r.passed and r.detail_zh == "“主题字体”实际为 宋体"
    assert rule("font", east_asian=["宋体"], size_pt=11).check(DocxDoc(docx_bytes(doc))).passed


def test_line_spacing_reports_multiple_and_exact_values():
    doc = Document()
    p = doc.add_paragraph("一段文字")
    p.paragraph_format.line_spacing = 1.5
    q = doc.add_paragraph("另一段")
    q.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    q.paragraph_format.line_spacing = Pt(28.9)
    d = DocxDoc(docx_bytes(doc))
    r = rule("line_spacing", min_pt=28, max_pt=29).check(d)
    assert not r.passed and "1.5 倍行距" in r.detail_zh
    assert rule("line_spacing", match="另一段", min_pt=28, max_pt=29).check(d).passed
    assert not rule("line_spacing", match="另一段", min_pt=30, max_pt=31).check(d).passed
    with pytest.raises(TaskFileError, match="max_pt"):
        rule("line_spacing", min_pt=29, max_pt=28)


def _footer_with(doc, before: str, simple: bool, after: str) -> None:
    p = doc.sections[0].footer.paragraphs[0]
    p.add_run(before)
    if simple:
        fld = OxmlElement("w:fldSimple")
        fld.set(qn("w:instr"), " PAGE   \\* MERGEFORMAT ")
        r = OxmlElement("w:r")
        t = OxmlElement("w:t")
        t.text = "1"
        r.append(t)
        fld.append(r)
        p._p.append(fld)
    else:
        for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "7"), ("end", None)):
            r = OxmlElement("w:r")
            if kind:
                el = OxmlElement("w:fldChar")
                el.set(qn("w:fldCharType"), kind)
            elif text == "7":
                el = OxmlElement("w:t")
                el.text = text
            else:
                el = OxmlElement("w:instrText")
                el.text = text
            r.append(el)
            p._p.append(r)
    p.add_run(after)


@pytest.mark.parametrize("simple", [True, False])
def test_page_number_simple_and_complex_fields(simple):
    good, bad = Document(), Document()
    _footer_with(good, "— ", simple, " —")
    _footer_with(bad, "第", simple, "页")
    r = rule("page_number", formats=["— {PAGE} —"])
    assert r.check(DocxDoc(docx_bytes(good))).passed
    result = r.check(DocxDoc(docx_bytes(bad)))
    assert not result.passed and "第1页" in result.detail_zh
    assert "没有页码" in r.check(DocxDoc(docx_bytes(Document()))).detail_zh
    with pytest.raises(TaskFileError, match="formats"):
        rule("page_number", formats=["— 1 —"])


def _doc_with_vml_line(color: str) -> bytes:
    from lxml import etree

    doc = Document()
    p = doc.add_paragraph("云财发〔2026〕18号")
    pict = OxmlElement("w:pict")
    line = etree.SubElement(pict, "{urn:schemas-microsoft-com:vml}line")
    line.set("strokecolor", color)
    r = OxmlElement("w:r")
    r.append(pict)
    p._p.append(r)
    return docx_bytes(doc)


def test_red_separator_as_drawn_vml_line():
    assert rule("red_separator", after="^云财发").check(DocxDoc(_doc_with_vml_line("#E00000"))).passed
    assert not rule("red_separator", after="^份号").check(DocxDoc(_doc_with_vml_line("#E00000"))).passed
    result = rule("red_separator").check(DocxDoc(_doc_with_vml_line("#0000FF")))
    assert not result.passed and result.detail_zh == "没有找到红色分隔线"


def test_merged_pages_accepts_section_breaks_and_counts_recipients():
    from docx.enum.section import WD_SECTION

    doc = Document()
    for i, name in enumerate(["办公室", "预算股"]):
        if i:
            doc.add_section(WD_SECTION.NEW_PAGE)
        doc.add_paragraph("关于报送盘点表的通知")
        doc.add_paragraph(f"{name}：")
        doc.add_paragraph("云溪县财政局办公室")
    r = rule("merged_pages", values=["办公室", "预算股"], each_page="盘点表的通知", value_line="^{value}：$")
    assert r.check(DocxDoc(docx_bytes(doc))).passed
    r3 = rule("merged_pages", values=["办公室", "预算股", "国库股"], each_page="盘点表的通知", value_line="^{value}：$")
    assert "共 2 页，应为 3 页" in r3.check(DocxDoc(docx_bytes(doc))).detail_zh
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    doc.add_paragraph("关于报送盘点表的通知")
    doc.add_paragraph("预算股：")
    assert "缺少：国库股" in r3.check(DocxDoc(docx_bytes(doc))).detail_zh


def test_table_rule_messages():
    doc = Document()
    t = doc.add_table(rows=3, cols=2)
    t.rows[0].cells[0].text, t.rows[0].cells[1].text = "姓名", "科室"
    d = DocxDoc(docx_bytes(doc))
    assert rule("table", rows=3, cols=2, header=["姓名", "科室"]).check(d).passed
    assert "应为 4 行" in rule("table", rows=4).check(d).detail_zh
    assert "表头为“姓名、科室”" in rule("table", header=["科室", "姓名"]).check(d).detail_zh
    assert "只有 1 个表格" in rule("table", index=1).check(d).detail_zh


# --- xlsx ---------------------------------------------------------------------------------------

def xlsx_bytes(fill) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    fill(wb.active)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_formula_versus_typed_value_and_missing_cached_value(monkeypatch):
    monkeypatch.delenv("PRACTICAL_LIBREOFFICE_RECALC", raising=False)

    def fill(ws):
        ws["A1"], ws["A2"], ws["A3"], ws["B3"] = 2, 3, "=SUM(A1:A2)", 5

    d = XlsxDoc(xlsx_bytes(fill))
    assert rule("formula", cells="A3", pattern="^=SUM\\(").check(d).passed
    typed = rule("formula", cells="B3").check(d)
    assert not typed.passed and "直接输入的数值“5”" in typed.detail_zh
    # openpyxl stores no result next to a formula: the value rule says so instead of guessing
    r = rule("value", cell="A3", equals=5).check(d)
    assert not r.passed and "没有保存计算结果" in r.detail_zh
    assert rule("value", cell="B3", equals=5.001, tolerance=0.01).check(d).passed
    with pytest.raises(TaskFileError, match="equals"):
        rule("value", cells="A1:A3", equals=[1, 2])
    with pytest.raises(TaskFileError, match="cells"):
        rule("formula", cells="not a range")


def test_sorted_number_format_and_conditional_format():
    from openpyxl.formatting.rule import CellIsRule

    def fill(ws):
        for i, v in enumerate([30, 20, 10], 1):
            ws.cell(i, 1, v).number_format = "0.00"
        ws.conditional_formatting.add("A1:A3", CellIsRule(operator="greaterThan", formula=["15"]))

    d = XlsxDoc(xlsx_bytes(fill))
    assert rule("sorted", range="A1:A3", by="A", order="desc").check(d).passed
    assert "升序" in rule("sorted", range="A1:A3", by="A").check(d).detail_zh
    assert rule("number_format", cells="A1:A3", formats=["0.00"]).check(d).passed
    assert not rule("number_format", cells="A1:A3", pattern="%").check(d).passed
    assert rule("conditional_format", range="A1:A3", type="cellIs", operator="greaterThan").check(d).passed
    wrong = rule("conditional_format", range="A1:A3", type="cellIs", operator="lessThan").check(d)
    assert not wrong.passed and "规则不符合要求" in wrong.detail_zh
    assert "没有找到工作表" in rule("sorted", sheet="无此表", range="A1:A3", by="A").check(d).detail_zh


def test_autofilter_on_the_wrong_column():
    def fill(ws):
        ws.append(["序号", "科室"])
        ws.append([1, "办公室"])
        ws.auto_filter.ref = "A1:B2"
        ws.auto_filter.add_filter_column(1, ["预算股"])

    d = XlsxDoc(xlsx_bytes(fill))
    r = rule("autofilter", range="A1:B2", column="B", values=["办公室"]).check(d)
    assert not r.passed and "“预算股”" in r.detail_zh
    assert rule("autofilter", range="A1:B2").check(d).passed
    with pytest.raises(TaskFileError, match="values"):
        rule("autofilter", range="A1:B2", column="B")


# --- pptx ---------------------------------------------------------------------------------------

def test_pptx_rules_on_a_small_deck():
    from pptx import Presentation

    prs = Presentation()
    s = prs.slides.add_slide(prs.slide_layouts[1])
    s.shapes.title.text = "工作概况"
    s.notes_slide.notes_text_frame.text = "讲解时强调数据截至十一月底。"
    buf = io.BytesIO()
    prs.save(buf)
    d = PptxDoc(buf.getvalue())
    assert rule("slide_count", count=1).check(d).passed
    assert "共 1 张幻灯片，应为 2 张" in rule("slide_count", count=2).check(d).detail_zh
    assert rule("slide_title", slide=1, text="概况", layouts=["Title and Content", "标题和内容"]).check(d).passed
    assert "应为“标题幻灯片”" in rule("slide_title", slide=1, layouts=["Title Slide", "标题幻灯片"]).check(d).detail_zh
    assert rule("notes", slides=[1], text="十一月").check(d).passed
    assert "没有第 2 张" in rule("notes", slides=[1, 2]).check(d).detail_zh
    assert "0 张图片" in rule("picture").check(d).detail_zh
    assert "没有要检查的文字" in rule("font_size", slide=1, shape="body", min_pt=20).check(d).detail_zh
    assert rule("font_size", slide=1, shape="title", min_pt=30).check(d).passed  # 44 pt from the master


# --- task files ---------------------------------------------------------------------------------

@pytest.fixture()
def task_copy(tmp_path):
    dst = tmp_path / "tasks" / "doc-table"
    shutil.copytree(TASKS / "doc-table", dst)
    return dst


def edit(folder: Path, old: str, new: str) -> None:
    path = folder / "task.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(folder: Path, needle: str) -> int:
    lines = (folder / "task.yaml").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def test_unknown_rule_kind_is_located(task_copy):
    edit(task_copy, "kind: table\n    points: 5", "kind: tabel\n    points: 5")
    with pytest.raises(TaskFileError) as exc:
        load_task(task_copy)
    assert exc.value.field == "rules[0].kind" and exc.value.line == line_of(task_copy, "kind: tabel")
    assert "unknown rule kind 'tabel'" in str(exc.value) and str(task_copy / "task.yaml") in str(exc.value)


def test_unknown_field_and_wrong_file_kind_are_located(task_copy):
    edit(task_copy, "    rows: 6\n", "    rowz: 6\n")
    with pytest.raises(TaskFileError) as exc:
        load_task(task_copy)
    assert exc.value.field == "rules[0].rowz" and exc.value.line == line_of(task_copy, "rowz")
    edit(task_copy, "    rowz: 6\n", "    rows: 6\n")
    edit(task_copy, "kind: table\n    points: 4", "kind: slide_count\n    points: 4")
    with pytest.raises(TaskFileError, match="checks pptx files"):
        load_task(task_copy)


def test_paths_must_stay_inside_the_task_folder(task_copy, tmp_path):
    outside = tmp_path / "secret.docx"
    outside.write_bytes(b"x")
    edit(task_copy, "starter: starter.docx", "starter: ../../secret.docx")
    with pytest.raises(TaskFileError, match="outside the task folder") as exc:
        load_task(task_copy)
    assert exc.value.field == "starter"
    edit(task_copy, "starter: ../../secret.docx", "starter: link.docx")
    (task_copy / "link.docx").symlink_to(outside)
    with pytest.raises(TaskFileError, match="outside the task folder"):
        load_task(task_copy)
    edit(task_copy, "starter: link.docx", f"starter: {outside}")
    with pytest.raises(TaskFileError, match="inside the task folder"):
        load_task(task_copy)


def test_id_must_match_the_folder(task_copy):
    edit(task_copy, "id: doc-table", "id: doc-tables")
    with pytest.raises(TaskFileError, match="folder name") as exc:
        load_task(task_copy)
    assert exc.value.line == 1


def test_validate_tasks_reports_scores_that_break_the_rules(task_copy):
    root = task_copy.parent
    assert validate_tasks(root, standards_dir=TASKS.parent / "standards") == []
    shutil.copy(task_copy / "half_right.docx", task_copy / "reference.docx")
    shutil.copy(task_copy / "reference.docx", task_copy / "half_right.docx")
    shutil.copy(TASKS / "doc-table" / "reference.docx", task_copy / "starter.docx")
    edit(task_copy, "standard_item: C2", "standard_item: Z9")
    errors = validate_tasks(root, standards_dir=TASKS.parent / "standards")
    text = "\n".join(errors)
    assert "reference: reference.docx scores 11/20, must score all points" in text
    assert "starter: starter.docx scores 20/20, must be below the pass mark" in text
    assert "standard_item: 'Z9' is not an item" in text
    assert "samples[0].expected_points: half_right.docx scores 11, task.yaml says 11" not in text
    assert all(e.startswith(str(task_copy / "task.yaml")) for e in errors)


def test_content_check_fails_on_a_bad_task(tmp_path):
    from app.content.lint import lint_content

    bank = tmp_path / "question_bank"
    shutil.copytree(TASKS.parent / "standards", bank / "standards")
    (bank / "questions").mkdir()
    shutil.copytree(TASKS / "doc-table", bank / "tasks" / "doc-table")
    (tmp_path / "courses").mkdir()
    report = lint_content(tmp_path / "courses", bank)
    assert report.practical_tasks == 1 and report.passed
    edit(bank / "tasks" / "doc-table", "expected_points: 11", "expected_points: 12")
    report = lint_content(tmp_path / "courses", bank)
    assert not report.passed
    assert any("practical task:" in f and "half_right.docx scores 11, task.yaml says 12" in f for f in report.failures)


# --- subprocess ---------------------------------------------------------------------------------

def test_check_in_subprocess_gives_the_same_result():
    task = next(t for t in ALL if t.id == "doc-table")
    result = check_in_subprocess(task, (task.folder / "half_right.docx").read_bytes())
    direct = check_file(task, (task.folder / "half_right.docx").read_bytes())
    assert result.to_dict() == direct.to_dict()


def test_check_in_subprocess_timeout_is_a_zero_could_not_be_checked():
    task = next(t for t in ALL if t.id == "doc-table")
    result = check_in_subprocess(task, task.reference_file.read_bytes(), timeout_s=0.01)
    assert result.refused_code == "timeout" and result.fraction == 0 and result.points_possible == task.points
    assert [r.rule_id for r in result.rules] == [FILE_RULE_ID]
    assert "未能检查完毕" in result.rules[0].detail_zh and "could not be checked" in result.rules[0].detail_en


def _padded(data: bytes, extra: int) -> bytes:
    """``data`` (an Office file) with a stored, incompressible member of ``extra`` bytes added: a big
    upload whose check needs more memory than a small limit leaves."""
    import os
    import zipfile

    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info, source.read(info.filename))
        target.writestr(zipfile.ZipInfo("word/media/image1.png"), os.urandom(extra), zipfile.ZIP_STORED)
    return out.getvalue()


def test_check_in_subprocess_out_of_memory_is_a_zero_could_not_be_checked():
    task = next(t for t in ALL if t.id == "doc-table")
    result = check_in_subprocess(task, _padded(task.reference_file.read_bytes(), 4_000_000), memory_mb=30)
    assert result.refused_code == "crashed" and result.fraction == 0
    assert "无法检查" in result.rules[0].detail_zh


def test_one_checker_server_checks_many_files_each_in_its_own_limited_child():
    """One server for a batch (one grading job run): every result equals ``check_file``'s; a child
    killed at its timeout or out of memory scores 0 for that file only and the next file in the same
    server is checked normally."""
    from app.practical.checking import CheckerServer

    jobs = [(t, f) for t in ALL if t.id in ("doc-table", "xls-sumifs", "ppt-briefing")
            for f in (t.reference_file, t.starter_file)]
    docx = next(t for t in ALL if t.id == "doc-table")
    with CheckerServer() as server:
        for task, path in jobs:
            assert server.check(task, path.read_bytes(), filename=path.name).to_dict() == \
                check_file(task, path.read_bytes(), path.name).to_dict(), (task.id, path.name)
        first = server._proc.pid
        assert server.check(docx, docx.reference_file.read_bytes(), timeout_s=0.01).refused_code == "timeout"
        big = _padded(docx.reference_file.read_bytes(), 4_000_000)
        assert server.check(docx, big, memory_mb=30).refused_code == "crashed"
        assert server.check(docx, docx.reference_file.read_bytes()).fraction == 1.0
        assert server._proc.pid == first                       # the same server: only the children died


def test_a_checker_server_that_died_is_replaced_and_keeps_no_secrets(monkeypatch):
    import os
    import signal

    from app.practical.checking import CheckerServer

    monkeypatch.setenv("SECRET_KEY", "not-for-the-checker")
    monkeypatch.setenv("DATABASE_URL", "postgresql://secret@db/civicskills")
    task = next(t for t in ALL if t.id == "doc-table")
    with CheckerServer() as server:
        assert server.check(task, task.reference_file.read_bytes()).fraction == 1.0
        environ = Path(f"/proc/{server._proc.pid}/environ")
        if environ.exists():
            names = {entry.split(b"=", 1)[0] for entry in environ.read_bytes().split(b"\0") if entry}
            assert b"SECRET_KEY" not in names and b"DATABASE_URL" not in names
        os.killpg(server._proc.pid, signal.SIGKILL)
        server._proc.wait()
        assert server.check(task, task.reference_file.read_bytes()).fraction == 1.0   # a new server
    assert server._proc is None                                                       # stopped on exit


@pytest.mark.parametrize("wrapper", ["sdt", "textbox"])
def test_page_number_inside_a_content_control_or_text_box(wrapper):
    """Word's page-number gallery wraps the footer paragraph in a content control; WPS puts the
    number in a text box. Both are found."""
    from lxml import etree

    doc = Document()
    _footer_with(doc, "— ", False, " —")
    footer = doc.sections[0].footer._element
    p = footer.findall(qn("w:p"))[0]
    footer.remove(p)
    if wrapper == "sdt":
        sdt = etree.SubElement(footer, qn("w:sdt"))
        etree.SubElement(sdt, qn("w:sdtContent")).append(p)
    else:
        outer = etree.SubElement(footer, qn("w:p"))
        r = etree.SubElement(outer, qn("w:r"))
        pict = etree.SubElement(r, qn("w:pict"))
        box = etree.SubElement(etree.SubElement(pict, "{urn:schemas-microsoft-com:vml}shape"),
                               "{urn:schemas-microsoft-com:vml}textbox")
        etree.SubElement(box, qn("w:txbxContent")).append(p)
    assert rule("page_number", formats=["— {PAGE} —"]).check(DocxDoc(docx_bytes(doc))).passed


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
def test_libreoffice_recalculation_fills_a_missing_cached_value(monkeypatch):
    """Optional: with PRACTICAL_LIBREOFFICE_RECALC=1 a formula without a cached result is computed."""
    def fill(ws):
        ws["A1"], ws["A2"], ws["A3"] = 2, 3, "=SUM(A1:A2)"

    monkeypatch.setenv("PRACTICAL_LIBREOFFICE_RECALC", "1")
    assert rule("value", cell="A3", equals=5).check(XlsxDoc(xlsx_bytes(fill))).passed
    assert not rule("value", cell="A3", equals=6).check(XlsxDoc(xlsx_bytes(fill))).passed


def test_an_unreadable_pivot_table_fails_only_the_pivot_rules():
    """openpyxl is strict about pivot XML: a pivot it cannot read is left out, the pivot rules say
    so, and every other rule is still checked."""
    import zipfile

    task = next(t for t in ALL if t.id == "xls-pivot")
    src = zipfile.ZipFile(io.BytesIO(task.reference_file.read_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            body = src.read(info)
            if info.filename.startswith("xl/pivotTables/pivotTable"):
                body = body.replace(b'axis="axisRow"', b'axis="axisSideways"')
            z.writestr(info, body)
    result = check_file(task, out.getvalue())
    by_id = {r.rule_id: r for r in result.rules}
    assert result.refused_code is None
    assert not by_id["pivot-fields"].passed and "无法读取" in by_id["pivot-fields"].detail_zh
    assert by_id["data-unchanged"].passed and result.points_awarded == 4


def test_a_title_split_over_two_lines_with_latin_digits_in_another_font_still_scores_full():
    """GB/T 9704 lets a long title run over two lines; candidates often press Enter. Digits in a
    run of their own, with 宋体 left as its east-Asian font, are drawn in the Latin font and are
    not judged on the Chinese font."""
    import copy

    task = next(t for t in ALL if t.id == "doc-gongwen-format")
    doc = Document(str(task.reference_file))
    title = next(p for p in doc.paragraphs if p.text.endswith("的通知"))
    second = copy.deepcopy(title._p)
    title._p.addnext(second)
    title.runs[0].text = "云溪县财政局关于做好"
    digits = copy.deepcopy(title.runs[0]._r)
    title._p.append(digits)
    digits.find(qn("w:t")).text = "2027"
    digits.find(qn("w:rPr")).find(qn("w:rFonts")).set(qn("w:eastAsia"), "宋体")
    tail = copy.deepcopy(title.runs[0]._r)
    title._p.append(tail)
    tail.find(qn("w:t")).text = "年度"
    second.findall(qn("w:r"))[0].find(qn("w:t")).text = "部门预算编制工作的通知"
    result = check_file(task, docx_bytes(doc))
    assert [(r.rule_id, r.detail_en) for r in result.rules if not r.passed] == []
    # the same 宋体 on Chinese characters is caught
    tail.find(qn("w:rPr")).find(qn("w:rFonts")).set(qn("w:eastAsia"), "宋体")
    bad = {r.rule_id: r for r in check_file(task, docx_bytes(doc)).rules}
    assert not bad["title-font"].passed and "宋体" in bad["title-font"].detail_zh
