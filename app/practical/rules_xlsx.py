"""Rule kinds for .xlsx files (Excel / WPS 表格). Field reference: docs/content-format.md.

Common fields: ``sheet`` (worksheet name; default the first sheet), cells as A1 references
(``cell: D12``) or ranges (``cells: D2:D9``). Formulas are read with openpyxl ``data_only=False``;
values are the results cached in the file by Excel/WPS when it was saved (``data_only=True``). A
formula cell without a cached result (a file written by a program that does not calculate) fails a
value rule with "no cached value" (LibreOffice recalculation is optional: ``recalc.py``).
"""
from __future__ import annotations

import re

from openpyxl.utils.cell import coordinate_from_string, column_index_from_string, range_boundaries

from app.practical.rules import Rule, register


def _cells(spec: str) -> list[str]:
    """``"D2:D4"`` → ["D2", "D3", "D4"]; ``"D2"`` → ["D2"]."""
    from openpyxl.utils import get_column_letter

    min_col, min_row, max_col, max_row = range_boundaries(spec)
    return [f"{get_column_letter(c)}{r}" for r in range(min_row, max_row + 1) for c in range(min_col, max_col + 1)]


def _range_field(f, name, required=True):
    value = f.str(name, required=required)
    if value is not None:
        try:
            range_boundaries(value.replace("$", ""))
        except (ValueError, TypeError) as exc:
            raise f.where.error(name, f"{value!r} is not a cell range such as A2:D9") from exc
        value = value.replace("$", "").upper()
    return value


def _col_field(f, name, required=True):
    value = f.str(name, required=required)
    if value is not None:
        try:
            column_index_from_string(value.upper())
        except ValueError as exc:
            raise f.where.error(name, f"{value!r} is not a column letter such as C") from exc
        value = value.upper()
    return value


def _sheet_zh(doc, name):
    return f"工作表“{name}”" if name else "第一个工作表"


def _missing_sheet(name):
    return False, f"没有找到工作表“{name}”", f"there is no worksheet called “{name}”"


def _formula_text(value) -> str | None:
    if isinstance(value, str) and value.startswith("="):
        return value
    text = getattr(value, "text", None)  # openpyxl ArrayFormula / DataTableFormula
    if isinstance(text, str):
        return text if text.startswith("=") else "=" + text
    return None


def _norm_ref(ref: str) -> str:
    """``'汇总'!$B$2:$B$7`` → ``汇总!B2:B7`` (quotes and $ removed, upper-case cells)."""
    ref = ref.replace("$", "").strip()
    if "!" in ref:
        sheet, cells = ref.rsplit("!", 1)
        return f"{sheet.strip(chr(39))}!{cells.upper()}"
    return ref.upper()


def _show(v) -> str:
    if isinstance(v, float):
        return f"{v:.4f}".rstrip("0").rstrip(".")
    return str(v)


@register
class Formula(Rule):
    """``formula``: each of ``cells`` holds a formula (not a typed value) whose text matches
    ``pattern`` (regular expression, case-insensitive, searched in the formula including its ``=``,
    e.g. ``SUMIFS\\(`` or ``\\$B\\$12``)."""

    kind, file_kind = "formula", "xlsx"

    def read(self, f):
        self.sheet = f.str("sheet", required=False)
        self.cells = _range_field(f, "cells")
        self.pattern = f.regex("pattern", required=False, default="^=")

    def evaluate(self, doc):
        try:
            ws = doc.sheet(self.sheet)
        except KeyError:
            return _missing_sheet(self.sheet)
        for ref in _cells(self.cells):
            value = ws[ref].value
            formula = _formula_text(value)
            if formula is None:
                if value is None:
                    return False, f"{ref} 是空的，应为公式", f"{ref} is empty; a formula is required"
                return False, f"{ref} 是直接输入的数值“{_show(value)}”，不是公式", \
                    f"{ref} holds a typed value “{_show(value)}”, not a formula"
            if not re.search(self.pattern, formula, flags=re.I):
                return False, f"{ref} 的公式为“{formula}”，不符合要求", f"{ref} has the formula “{formula}”, not as required"
        n = len(_cells(self.cells))
        return True, f"{n} 个单元格的公式符合要求", f"{n} cell(s) hold the required formula"


@register
class CellValue(Rule):
    """``value``: ``cell`` has the value ``equals`` (a number, compared within ``tolerance``, default
    0.005, or a text compared after trimming), or ``cells`` (a range) has the list ``equals`` in row
    order. Values are the results cached in the file."""

    kind, file_kind = "value", "xlsx"

    def read(self, f):
        self.sheet = f.str("sheet", required=False)
        cell = _range_field(f, "cell", required=False)
        cells = _range_field(f, "cells", required=False)
        if (cell is None) == (cells is None):
            raise f.where.error("cell", "give cell or cells")
        self.refs = _cells(cell or cells)
        if cell and len(self.refs) != 1:
            raise f.where.error("cell", "must be a single cell (use cells for a range)")
        equals = f.raw("equals")
        self.expected = equals if cells else [equals]
        if not isinstance(self.expected, list) or len(self.expected) != len(self.refs):
            raise f.where.error("equals", f"give {len(self.refs)} value(s), one per cell")
        for v in self.expected:
            if isinstance(v, bool) or not isinstance(v, (int, float, str)):
                raise f.where.error("equals", "values must be numbers or texts")
        self.tolerance = f.num("tolerance", required=False, default=0.005, minimum=0)

    def evaluate(self, doc):
        try:
            ws = doc.sheet(self.sheet, values=True)
            wf = doc.sheet(self.sheet)
        except KeyError:
            return _missing_sheet(self.sheet)
        for ref, want in zip(self.refs, self.expected):
            got = ws[ref].value
            if got is None and _formula_text(wf[ref].value):
                got = doc.recalculated(self.sheet, ref)
                if got is None:
                    return False, f"{ref} 的公式没有保存计算结果，请用 WPS 或 Excel 打开后重新保存", \
                        f"{ref} has no cached value; open and save the file in WPS or Excel"
            if isinstance(want, (int, float)):
                ok = isinstance(got, (int, float)) and not isinstance(got, bool) and abs(got - want) <= self.tolerance
            else:
                ok = got is not None and str(got).strip() == want.strip()
            if not ok:
                shown = "空" if got is None else _show(got)
                return False, f"{ref} 为 {shown}，应为 {_show(want)}", \
                    f"{ref} is {'empty' if got is None else _show(got)}, {_show(want)} expected"
        return True, "计算结果正确", "results are right"


@register
class Sorted(Rule):
    """``sorted``: the rows of ``range`` are sorted by column ``by`` in ``order`` (asc | desc),
    ties by ``then_by`` / ``then_order``. Empty cells must come last."""

    kind, file_kind = "sorted", "xlsx"

    def read(self, f):
        self.sheet = f.str("sheet", required=False)
        self.range = _range_field(f, "range")
        self.by = _col_field(f, "by")
        self.order = f.choice("order", ["asc", "desc"], required=False, default="asc")
        self.then_by = _col_field(f, "then_by", required=False)
        self.then_order = f.choice("then_order", ["asc", "desc"], required=False, default="asc")

    def evaluate(self, doc):
        try:
            ws = doc.sheet(self.sheet, values=True)
        except KeyError:
            return _missing_sheet(self.sheet)
        _, min_row, _, max_row = range_boundaries(self.range)
        keys = [(ws[f"{self.by}{r}"].value, ws[f"{self.then_by}{r}"].value if self.then_by else None, r)
                for r in range(min_row, max_row + 1)]

        def cmp(a, b, order):
            if a == b:
                return 0
            if a is None:
                return 1
            if b is None:
                return -1
            try:
                less = a < b
            except TypeError:
                less = str(a) < str(b)
            return (-1 if less else 1) * (1 if order == "asc" else -1)

        word = {"asc": ("升序", "ascending"), "desc": ("降序", "descending")}[self.order]
        for (a1, a2, r), (b1, b2, _) in zip(keys, keys[1:]):
            c = cmp(a1, b1, self.order)
            if c == 0 and self.then_by:
                c = cmp(a2, b2, self.then_order)
            if c > 0:
                return False, f"第 {r} 行和第 {r + 1} 行的顺序不对，未按 {self.by} 列{word[0]}排列", \
                    f"rows {r} and {r + 1} are out of order: not {word[1]} by column {self.by}"
        return True, f"已按 {self.by} 列{word[0]}排列", f"sorted {word[1]} by column {self.by}"


@register
class AutoFilter(Rule):
    """``autofilter``: the sheet has an AutoFilter (筛选) whose range starts at the top-left cell of
    ``range`` and covers its columns; optionally a filter on ``column`` (letter) selecting exactly
    the texts ``values``."""

    kind, file_kind = "autofilter", "xlsx"

    def read(self, f):
        self.sheet = f.str("sheet", required=False)
        self.range = _range_field(f, "range")
        self.column = _col_field(f, "column", required=False)
        self.values = f.str_list("values", required=False)
        if (self.column is None) != (self.values is None):
            raise f.where.error("values", "give column and values together")

    def evaluate(self, doc):
        try:
            ws = doc.sheet(self.sheet)
        except KeyError:
            return _missing_sheet(self.sheet)
        ref = ws.auto_filter.ref
        if not ref:
            return False, "没有设置筛选", "no filter is set"
        a = range_boundaries(ref.replace("$", ""))
        b = range_boundaries(self.range)
        if a[0] != b[0] or a[1] != b[1] or a[2] < b[2]:
            return False, f"筛选范围为 {ref}，应为 {self.range}", f"the filter covers {ref}, {self.range} expected"
        if self.column:
            col_id = column_index_from_string(self.column) - a[0]
            fc = next((c for c in ws.auto_filter.filterColumn if c.colId == col_id), None)
            chosen = sorted(x for x in (fc.filters.filter if fc is not None and fc.filters is not None else []))
            if fc is None or not chosen:
                return False, f"筛选范围正确，但没有在 {self.column} 列设置筛选条件", \
                    f"the filter range is right but column {self.column} is not filtered"
            if chosen != sorted(self.values):
                return False, f"{self.column} 列筛选的是“{'、'.join(chosen)}”，应为“{'、'.join(self.values)}”", \
                    f"column {self.column} shows “{', '.join(chosen)}”, “{', '.join(self.values)}” expected"
        return True, "筛选设置正确", "filter set as required"


@register
class Pivot(Rule):
    """``pivot``: a pivot table (数据透视表) exists (on ``sheet`` if given) with the fields ``rows``
    (row labels, in order), optionally ``columns``, and ``values`` (data fields; each ``{field,
    function}`` or a field name, function sum by default; function sum | count | average | max | min).
    Without ``rows`` and ``values`` any pivot table (on ``sheet``) passes."""

    kind, file_kind = "pivot", "xlsx"
    FUNCS = ("sum", "count", "average", "max", "min")
    ZH = {"sum": "求和", "count": "计数", "average": "平均值", "max": "最大值", "min": "最小值"}

    def read(self, f):
        self.sheet = f.str("sheet", required=False)
        self.rows = f.str_list("rows", required=False)
        self.columns = f.str_list("columns", required=False, default=[])
        values = f.raw("values", required=False)
        if values is None and self.rows is None:
            self.values = None
            return
        if isinstance(values, (str, dict)):
            values = [values]
        if not isinstance(values, list) or not values:
            raise f.where.error("values", "must be a list of fields")
        self.values = []
        for v in values:
            if isinstance(v, str):
                self.values.append((v, "sum"))
            elif isinstance(v, dict) and isinstance(v.get("field"), str) and v.get("function", "sum") in self.FUNCS \
                    and set(v) <= {"field", "function"}:
                self.values.append((v["field"], v.get("function", "sum")))
            else:
                raise f.where.error("values", f"each value is a field name or {{field, function}} with function one of {', '.join(self.FUNCS)}")

    def evaluate(self, doc):
        sheets = [doc.sheet(self.sheet)] if self.sheet and self.sheet in doc.formulas.sheetnames else \
            ([] if self.sheet else doc.formulas.worksheets)
        pivots = [p for ws in sheets for p in getattr(ws, "_pivots", [])]
        if not pivots and doc.pivots_unreadable:
            return False, "文件中的数据透视表无法读取，请在 WPS 或 Excel 中刷新后重新保存", \
                "the file's pivot table could not be read; refresh it in WPS or Excel and save again"
        if not pivots:
            return False, "没有找到数据透视表", "no pivot table was found"
        last = None
        for p in pivots:
            names = [cf.name for cf in p.cache.cacheFields]

            def field_names(fields):
                return [names[x.x] for x in (fields or []) if x.x is not None and 0 <= x.x < len(names)]

            rows, cols = field_names(p.rowFields), field_names(p.colFields)
            data = [(names[d.fld], d.subtotal or "sum") for d in (p.dataFields or []) if 0 <= d.fld < len(names)]
            last = (rows, cols, data)
            if self.values is None:
                return True, "找到数据透视表", "pivot table found"
            if rows == self.rows and [c for c in cols if c != "Values"] == self.columns and sorted(data) == sorted(self.values):
                return True, "数据透视表的字段设置正确", "pivot table fields as required"
        rows, cols, data = last
        shown = "、".join(f"{n}（{self.ZH.get(fn, fn)}）" for n, fn in data) or "无"
        return False, f"数据透视表的行为“{'、'.join(rows) or '无'}”，值为“{shown}”，与要求不符", \
            f"the pivot table has rows “{', '.join(rows) or 'none'}” and values “{', '.join(f'{n} ({fn})' for n, fn in data) or 'none'}”, not as required"


@register
class NumberFormat(Rule):
    """``number_format``: every cell of ``cells`` has one of the number ``formats`` (exact format
    codes, e.g. ``0.00%``) or a format matching ``pattern`` (regular expression)."""

    kind, file_kind = "number_format", "xlsx"

    def read(self, f):
        self.sheet = f.str("sheet", required=False)
        self.cells = _range_field(f, "cells")
        self.formats = f.str_list("formats", required=False)
        self.pattern = f.regex("pattern", required=False)
        if not self.formats and not self.pattern:
            raise f.where.error("formats", "give formats or pattern")

    def evaluate(self, doc):
        try:
            ws = doc.sheet(self.sheet)
        except KeyError:
            return _missing_sheet(self.sheet)
        for ref in _cells(self.cells):
            fmt = ws[ref].number_format
            if not ((self.formats and fmt in self.formats) or (self.pattern and re.search(self.pattern, fmt))):
                shown = "常规" if fmt == "General" else fmt
                return False, f"{ref} 的数字格式为“{shown}”，不符合要求", f"{ref} has the number format “{fmt}”, not as required"
        return True, "数字格式符合要求", "number format as required"


CHART_TYPES = {"column": ("BarChart", "col"), "bar": ("BarChart", "bar"), "line": ("LineChart", None),
               "pie": ("PieChart", None), "doughnut": ("DoughnutChart", None), "scatter": ("ScatterChart", None),
               "area": ("AreaChart", None)}
CHART_ZH = {"column": "柱形图", "bar": "条形图", "line": "折线图", "pie": "饼图", "doughnut": "圆环图",
            "scatter": "散点图", "area": "面积图"}


def _chart_kind(chart) -> str:
    name = type(chart).__name__.replace("3D", "")
    if name == "BarChart":
        return "bar" if getattr(chart, "barDir", "col") == "bar" else "column"
    return next((k for k, (cls, _) in CHART_TYPES.items() if cls == name), name)


def _chart_title(chart) -> str:
    title = getattr(chart, "title", None)
    if title is None:
        return ""
    if isinstance(title, str):
        return title
    try:
        return "".join(r.t or "" for p in title.tx.rich.p for r in (p.r or []))
    except AttributeError:
        return ""


@register
class Chart(Rule):
    """``chart``: a chart of ``type`` (optional: column | bar | line | pie | doughnut | scatter | area) on
    ``sheet`` (default: any sheet) whose first series takes its values from ``values`` (e.g.
    ``汇总!B2:B7``) and, if given, categories from ``categories``; ``title`` (optional regular
    expression) must match the chart title."""

    kind, file_kind = "chart", "xlsx"

    def read(self, f):
        self.sheet = f.str("sheet", required=False)
        self.type = f.choice("type", list(CHART_TYPES), required=False)
        self.values = f.str("values")
        self.categories = f.str("categories", required=False)
        self.title = f.regex("title", required=False)
        for name in ("values", "categories"):
            v = getattr(self, name)
            if v is not None and "!" not in v:
                raise f.where.error(name, "give the sheet too, e.g. 汇总!B2:B7")

    def evaluate(self, doc):
        sheets = [doc.formulas[self.sheet]] if self.sheet and self.sheet in doc.formulas.sheetnames else \
            ([] if self.sheet else doc.formulas.worksheets)
        charts = [c for ws in sheets for c in getattr(ws, "_charts", [])]
        if not charts:
            return False, "没有找到图表", "no chart was found"
        problem = None
        for c in charts:
            kind = _chart_kind(c)
            if self.type and kind != self.type:
                problem = (f"图表类型为{CHART_ZH.get(kind, kind)}，应为{CHART_ZH[self.type]}",
                           f"the chart is a {kind} chart, a {self.type} chart is required")
                continue
            series = list(c.series)
            if not series or series[0].val is None or series[0].val.numRef is None:
                problem = ("图表没有数据系列", "the chart has no data series")
                continue
            vals = _norm_ref(series[0].val.numRef.f)
            if vals != _norm_ref(self.values):
                problem = (f"图表的数据区域为 {vals}，应为 {_norm_ref(self.values)}",
                           f"the chart plots {vals}, {_norm_ref(self.values)} expected")
                continue
            if self.categories:
                cat = series[0].cat
                ref = cat.strRef or cat.numRef if cat is not None else None
                got = _norm_ref(ref.f) if ref is not None else "无"
                if got != _norm_ref(self.categories):
                    problem = (f"图表的分类（横坐标）区域为 {got}，应为 {_norm_ref(self.categories)}",
                               f"the chart's categories are {got}, {_norm_ref(self.categories)} expected")
                    continue
            if self.title and not re.search(self.title, _chart_title(c)):
                shown = _chart_title(c)
                problem = (f"图表标题为“{shown}”，不符合要求", f"the chart title is “{shown}”, not as required") if shown \
                    else ("图表没有标题", "the chart has no title")
                continue
            return True, f"{CHART_ZH.get(kind, kind)}的设置符合要求", f"{kind} chart as required"
        return (False, *problem)


@register
class ConditionalFormat(Rule):
    """``conditional_format``: a conditional-formatting rule of ``type`` (cellIs | expression |
    colorScale | dataBar | iconSet | top10 | containsText | duplicateValues …) applies to a range
    covering ``range``; optional ``operator`` (e.g. lessThan) and ``formula`` (regular expression on
    the rule's first formula)."""

    kind, file_kind = "conditional_format", "xlsx"

    def read(self, f):
        self.sheet = f.str("sheet", required=False)
        self.range = _range_field(f, "range")
        self.type = f.str("type")
        self.operator = f.str("operator", required=False)
        self.formula = f.regex("formula", required=False)

    def evaluate(self, doc):
        try:
            ws = doc.sheet(self.sheet)
        except KeyError:
            return _missing_sheet(self.sheet)
        want = set(_cells(self.range))
        found_any = False
        for cf in ws.conditional_formatting:
            covered = {c for r in str(cf.sqref).split() for c in _cells(r)}
            if not want <= covered:
                continue
            for rule in cf.rules:
                found_any = True
                if rule.type != self.type:
                    continue
                if self.operator and rule.operator != self.operator:
                    continue
                if self.formula and not (rule.formula and re.search(self.formula, rule.formula[0], flags=re.I)):
                    continue
                return True, "条件格式设置正确", "conditional formatting as required"
        if found_any:
            return False, f"{self.range} 有条件格式，但规则不符合要求", f"{self.range} has conditional formatting, but not the required rule"
        return False, f"{self.range} 没有设置条件格式", f"{self.range} has no conditional formatting"


del coordinate_from_string
