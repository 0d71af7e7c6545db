"""Rule kinds for .docx files (Word / WPS 文字). Field reference: docs/content-format.md.

Paragraph selection (rules ``font``, ``line_spacing``, ``alignment``): ``match`` (regular expression
searched in the paragraph text; default: every paragraph with text), ``exclude`` (regular expression;
matching paragraphs are skipped), ``first_only`` (only the first selected paragraph), ``in_tables``
(also paragraphs inside tables; default false). A rule that selects no paragraph fails.
"""
from __future__ import annotations

import re

from app.practical.documents import w
from app.practical.rules import Rule, register

#: Chinese font-size names → points (号数).
SIZE_NAMES = {"初号": 42, "小初": 36, "一号": 26, "小一": 24, "二号": 22, "小二": 18, "三号": 16, "小三": 15,
              "四号": 14, "小四": 12, "五号": 10.5, "小五": 9, "六号": 7.5}
_SIZE_BY_PT = {v: k for k, v in SIZE_NAMES.items()}
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")


def size_words(pt: float) -> tuple[str, str]:
    """(zh, en) words for a size: ``22`` → ("二号（22磅）", "22 pt")."""
    pts = f"{pt:g}"
    name = _SIZE_BY_PT.get(pt)
    return (f"{name}（{pts}磅）" if name else f"{pts}磅", f"{pts} pt")


def _norm_font(name: str | None) -> str:
    return re.sub(r"\s+", "", name or "").lower()


class Selector:
    """Which paragraphs a rule looks at; see the module docstring."""

    def __init__(self, f):
        self.match = f.regex("match", required=False)
        self.exclude = f.regex("exclude", required=False)
        self.first_only = f.bool("first_only")
        self.in_tables = f.bool("in_tables")

    def select(self, doc):
        out = []
        for p in doc.body_paragraphs(self.in_tables):
            text = p.text.strip()
            if not text:
                continue
            if self.match and not re.search(self.match, text):
                continue
            if self.exclude and re.search(self.exclude, text):
                continue
            out.append(p)
            if self.first_only:
                break
        return out


def _short(text: str, n: int = 14) -> str:
    text = text.strip()
    return text if len(text) <= n else text[:n] + "…"


NONE_FOUND = ("没有找到要检查的段落", "no paragraph to check was found")


@register
class PageSetup(Rule):
    """``page_setup``: paper size and margins of every section, in millimetres.
    Fields: ``width_mm``, ``height_mm`` (paper, e.g. A4 210 × 297), ``top_mm``, ``bottom_mm``,
    ``left_mm``, ``right_mm`` (margins; each optional), ``tolerance_mm`` (default 1)."""

    kind, file_kind = "page_setup", "docx"
    FIELDS = ("width_mm", "height_mm", "top_mm", "bottom_mm", "left_mm", "right_mm")
    ZH = {"width_mm": "纸张宽度", "height_mm": "纸张高度", "top_mm": "上边距", "bottom_mm": "下边距",
          "left_mm": "左边距", "right_mm": "右边距"}
    EN = {"width_mm": "paper width", "height_mm": "paper height", "top_mm": "top margin",
          "bottom_mm": "bottom margin", "left_mm": "left margin", "right_mm": "right margin"}

    def read(self, f):
        self.want = {k: f.num(k, required=False, minimum=0, maximum=1000) for k in self.FIELDS}
        self.want = {k: v for k, v in self.want.items() if v is not None}
        if not self.want:
            raise f.where.error("width_mm", "give at least one of " + ", ".join(self.FIELDS))
        self.tolerance = f.num("tolerance_mm", required=False, default=1.0, minimum=0, maximum=20)

    def evaluate(self, doc):
        for s in doc.document.sections:
            got = {"width_mm": s.page_width, "height_mm": s.page_height, "top_mm": s.top_margin,
                   "bottom_mm": s.bottom_margin, "left_mm": s.left_margin, "right_mm": s.right_margin}
            for k, want in self.want.items():
                actual = got[k].mm if got[k] is not None else None
                if actual is None or abs(actual - want) > self.tolerance:
                    shown = f"{actual:.1f}" if actual is not None else "?"
                    return False, f"{self.ZH[k]}应为 {want:g} 毫米，实际为 {shown} 毫米", \
                        f"{self.EN[k]} should be {want:g} mm, it is {shown} mm"
        return True, "页面设置符合要求", "page setup as required"


@register
class Font(Rule):
    """``font``: east-Asian font family and/or size of the selected paragraphs' text (the family is
    judged on runs holding Chinese characters or full-width punctuation only).
    Fields: selection (module docstring), ``east_asian`` (accepted font names, first is the one
    asked for; e.g. [方正小标宋简体, 方正小标宋_GBK, 小标宋体]), ``size_pt`` or ``size`` (a 号数 such as
    二号), ``size_tolerance_pt`` (default 0.25), ``bold`` (optional true/false)."""

    kind, file_kind = "font", "docx"

    def read(self, f):
        self.selector = Selector(f)
        self.fonts = f.str_list("east_asian", required=False)
        size_pt = f.num("size_pt", required=False, minimum=1, maximum=200)
        size = f.choice("size", list(SIZE_NAMES), required=False)
        if size_pt is not None and size is not None:
            raise f.where.error("size", "give size or size_pt, not both")
        self.size_pt = float(SIZE_NAMES[size]) if size else size_pt
        self.tolerance = f.num("size_tolerance_pt", required=False, default=0.25, minimum=0, maximum=10)
        self.bold = f.raw("bold", required=False)
        if self.bold is not None and not isinstance(self.bold, bool):
            raise f.where.error("bold", "must be true or false")
        if self.fonts is None and self.size_pt is None and self.bold is None:
            raise f.where.error("east_asian", "give east_asian, size/size_pt or bold")

    def evaluate(self, doc):
        paras = self.selector.select(doc)
        if not paras:
            return (False, *NONE_FOUND)
        accepted = {_norm_font(x) for x in (self.fonts or [])}
        for p in paras:
            for r in p._p.iter(w("r")):
                text = "".join(t.text or "" for t in r.iter(w("t")))
                if not text.strip():
                    continue
                font = doc.east_asian_font(p._p, r) if self.fonts else None
                size = doc.font_size_pt(p._p, r)
                bold = doc.bold(p._p, r)
                # the east-Asian font only shows on Chinese characters and full-width punctuation;
                # a run of Latin letters or digits is drawn in the Latin font, so it is not judged
                bad_font = self.fonts is not None and CJK.search(text) is not None and _norm_font(font) not in accepted
                bad_size = self.size_pt is not None and abs(size - self.size_pt) > self.tolerance
                bad_bold = self.bold is not None and bold != self.bold
                if bad_font or bad_size or bad_bold:
                    zh, en = [], []
                    if self.fonts is not None:
                        zh.append(font or "未设置中文字体")
                        en.append(font or "no east-Asian font set")
                    if self.size_pt is not None or not zh:
                        szh, sen = size_words(size)
                        zh.append(szh)
                        en.append(sen)
                    if self.bold is not None:
                        zh.append("加粗" if bold else "未加粗")
                        en.append("bold" if bold else "not bold")
                    return False, f"“{_short(p.text)}”实际为 {' '.join(zh)}", f"“{_short(p.text)}” is {', '.join(en)}"
        return True, f"已检查 {len(paras)} 段，全部符合", f"{len(paras)} paragraph(s) checked, all as required"


@register
class LineSpacing(Rule):
    """``line_spacing``: the selected paragraphs have fixed (exact) line spacing between ``min_pt``
    and ``max_pt`` points (GB/T 9704: about 28.9 pt so a page holds 22 lines)."""

    kind, file_kind = "line_spacing", "docx"

    def read(self, f):
        self.selector = Selector(f)
        self.min_pt = f.num("min_pt", minimum=1, maximum=200)
        self.max_pt = f.num("max_pt", minimum=1, maximum=200)
        if self.max_pt < self.min_pt:
            raise f.where.error("max_pt", "must not be below min_pt")

    def evaluate(self, doc):
        paras = self.selector.select(doc)
        if not paras:
            return (False, *NONE_FOUND)
        for p in paras:
            line = doc.para_attr(p._p, "spacing", "line")
            rule = doc.para_attr(p._p, "spacing", "lineRule") or "auto"
            if rule != "exact" or line is None:
                if line is not None and rule == "auto":
                    zh, en = f"{int(line) / 240:g} 倍行距", f"{int(line) / 240:g} × line spacing"
                elif line is not None:
                    zh, en = f"最小值 {int(line) / 20:g} 磅", f"at least {int(line) / 20:g} pt"
                else:
                    zh, en = "单倍行距", "single spacing"
                return False, f"“{_short(p.text)}”的行距为{zh}，不是固定值", \
                    f"“{_short(p.text)}” has {en}, not an exact value"
            pt = int(line) / 20
            if not self.min_pt <= pt <= self.max_pt:
                return False, f"“{_short(p.text)}”的行距为固定值 {pt:g} 磅", f"“{_short(p.text)}” has exactly {pt:g} pt"
        return True, f"已检查 {len(paras)} 段，全部符合", f"{len(paras)} paragraph(s) checked, all as required"


@register
class Alignment(Rule):
    """``alignment``: the selected paragraphs are aligned ``align``: left | center | right | justify |
    distribute (a list accepts several)."""

    kind, file_kind = "alignment", "docx"
    VALUES = {"left": ("left", "start"), "center": ("center",), "right": ("right", "end"),
              "justify": ("both",), "distribute": ("distribute",)}
    ZH = {"left": "左对齐", "center": "居中", "right": "右对齐", "both": "两端对齐", "justify": "两端对齐",
          "distribute": "分散对齐", "start": "左对齐", "end": "右对齐"}

    def read(self, f):
        self.selector = Selector(f)
        aligns = f.str_list("align")
        for a in aligns:
            if a not in self.VALUES:
                raise f.where.error("align", f"must be one of {', '.join(self.VALUES)}")
        self.accept = {v for a in aligns for v in self.VALUES[a]}

    def evaluate(self, doc):
        paras = self.selector.select(doc)
        if not paras:
            return (False, *NONE_FOUND)
        for p in paras:
            jc = doc.para_attr(p._p, "jc", "val") or "left"
            if jc not in self.accept:
                return False, f"“{_short(p.text)}”为{self.ZH.get(jc, jc)}", f"“{_short(p.text)}” is aligned {jc}"
        return True, f"已检查 {len(paras)} 段，全部符合", f"{len(paras)} paragraph(s) checked, all as required"


def hf_paragraphs(hf):
    """Every paragraph of a header/footer, including those in content controls (Word's page-number
    gallery), tables, frames and text boxes (WPS puts page numbers in a text box)."""
    from docx.text.paragraph import Paragraph

    return [Paragraph(p, hf) for p in hf._element.iter(w("p"))]


def _all_text(doc, where: str) -> str:
    """The paragraphs' texts, one per line, each stripped of surrounding white space (including the
    full-width spaces used for indenting Chinese text)."""
    parts = []
    if where in ("body", "any"):
        parts += [p.text for p in doc.body_paragraphs(in_tables=True)]
    if where in ("footer", "header", "any"):
        for kind, hf in doc.footer_parts():
            if where in (kind, "any"):
                parts += [p.text for p in hf_paragraphs(hf)]
    return "\n".join(part.strip() for part in parts)


@register
class TextPresent(Rule):
    """``text_present``: ``pattern`` (regular expression) occurs at least ``min_count`` times
    (default 1) in ``where``: body (default, tables included) | header | footer | any."""

    kind, file_kind = "text_present", "docx"

    def read(self, f):
        self.pattern = f.regex("pattern")
        self.where_ = f.choice("where", ["body", "header", "footer", "any"], required=False, default="body")
        self.min_count = f.int("min_count", required=False, default=1, minimum=1)

    def evaluate(self, doc):
        n = len(re.findall(self.pattern, _all_text(doc, self.where_), flags=re.M))
        if n >= self.min_count:
            return True, "已找到", "found"
        if n == 0:
            return False, "没有找到要求的内容", "the required text was not found"
        return False, f"只找到 {n} 处，要求至少 {self.min_count} 处", f"found {n}, at least {self.min_count} required"


@register
class TextAbsent(Rule):
    """``text_absent``: ``pattern`` (regular expression) does not occur in ``where`` (as text_present)."""

    kind, file_kind = "text_absent", "docx"

    def read(self, f):
        self.pattern = f.regex("pattern")
        self.where_ = f.choice("where", ["body", "header", "footer", "any"], required=False, default="body")

    def evaluate(self, doc):
        m = re.search(self.pattern, _all_text(doc, self.where_), flags=re.M)
        if m:
            return False, f"仍有不应出现的内容：“{_short(m.group(0))}”", f"text that should be gone is still there: “{_short(m.group(0))}”"
        return True, "没有不应出现的内容", "no unwanted text"


def is_red(value: str | None) -> bool:
    """True for red colours: ``red`` or hex RRGGBB with R ≥ 0xB0 and G, B ≤ 0x50."""
    if not value:
        return False
    value = value.strip().lstrip("#").lower()
    if value in ("red", "ff0000"):
        return True
    if re.fullmatch(r"[0-9a-f]{6}", value):
        r, g, b = (int(value[i:i + 2], 16) for i in (0, 2, 4))
        return r >= 0xB0 and g <= 0x50 and b <= 0x50
    return False


@register
class RedSeparator(Rule):
    """``red_separator``: the body has a red horizontal line: a red top or bottom paragraph border, or
    a drawn line/shape whose outline is red (VML ``strokecolor`` or DrawingML ``a:ln`` fill).
    Optional ``after``: regular expression of the paragraph the line must be on or just after."""

    kind, file_kind = "red_separator", "docx"

    def read(self, f):
        self.after = f.regex("after", required=False)

    def _has_red(self, p) -> bool:
        for side in ("top", "bottom"):
            for b in p.iter(w(side)):
                if b.getparent() is not None and b.getparent().tag == w("pBdr") and b.get(w("val")) not in (None, "nil", "none") \
                        and is_red(b.get(w("color"))):
                    return True
        for el in p.iter():
            tag = el.tag if isinstance(el.tag, str) else ""
            if tag.endswith("}line") or tag.endswith("}shape") or tag.endswith("}rect"):
                if is_red(el.get("strokecolor")) or is_red(el.get("fillcolor")):
                    return True
            if tag.endswith("}ln"):
                for c in el.iter():
                    if isinstance(c.tag, str) and c.tag.endswith("}srgbClr") and is_red(c.get("val")):
                        return True
        return False

    def evaluate(self, doc):
        paras = doc.body_paragraphs()
        for i, p in enumerate(paras):
            if self._has_red(p._p):
                if self.after and not any(re.search(self.after, q.text) for q in paras[max(0, i - 1):i + 1]):
                    continue
                return True, "已找到红色分隔线", "red separator line found"
        return False, "没有找到红色分隔线", "no red separator line found"


def _para_with_fields(p) -> str:
    """Paragraph text with each PAGE field shown as ``{PAGE}`` (simple and complex fields)."""
    out: list[str] = []
    state = {"mode": None, "instr": ""}

    def is_page(instr: str) -> bool:
        return "PAGE" in instr.upper().split()

    def walk(el):
        for child in el:
            tag = child.tag
            if tag == w("fldSimple"):
                if is_page(child.get(w("instr")) or ""):
                    out.append("{PAGE}")
                else:
                    walk(child)
            elif tag == w("fldChar"):
                t = child.get(w("fldCharType"))
                if t == "begin":
                    state.update(mode="instr", instr="")
                elif t == "separate":
                    state["mode"] = "result"
                    if is_page(state["instr"]):
                        out.append("{PAGE}")
                elif t == "end":
                    state.update(mode=None, instr="")
            elif tag == w("instrText"):
                if state["mode"] == "instr":
                    state["instr"] += child.text or ""
            elif tag == w("t"):
                if not (state["mode"] == "result" and is_page(state["instr"])):
                    out.append(child.text or "")
            else:
                walk(child)

    walk(p)
    return "".join(out)


@register
class PageNumber(Rule):
    """``page_number``: a footer paragraph holds a PAGE field laid out as one of ``formats``, where
    ``{PAGE}`` stands for the field and white space is ignored (GB/T 9704: ``— {PAGE} —``).
    Optional ``size_pt``/``size`` of the number's text and ``east_asian`` font list."""

    kind, file_kind = "page_number", "docx"

    def read(self, f):
        self.formats = f.str_list("formats")
        for x in self.formats:
            if "{PAGE}" not in x:
                raise f.where.error("formats", "each format must contain {PAGE}")
        size_pt = f.num("size_pt", required=False, minimum=1, maximum=200)
        size = f.choice("size", list(SIZE_NAMES), required=False)
        self.size_pt = float(SIZE_NAMES[size]) if size else size_pt

    def evaluate(self, doc):
        seen = []
        for kind, hf in doc.footer_parts():
            if kind != "footer":
                continue
            for p in hf_paragraphs(hf):
                if p._p.find(f".//{w('txbxContent')}") is not None:
                    continue  # the text box's own paragraphs are visited on their own
                text = re.sub(r"\s+", "", _para_with_fields(p._p))
                if "{PAGE}" not in text:
                    continue
                seen.append(text)
                if text in {re.sub(r"\s+", "", x) for x in self.formats}:
                    if self.size_pt is not None:
                        sizes = {doc.font_size_pt(p._p, r) for r in p._p.iter(w("r"))
                                 if "".join(t.text or "" for t in r.iter(w("t"))).strip()}
                        if any(abs(s - self.size_pt) > 0.25 for s in sizes):
                            zh, en = size_words(max(sizes))
                            return False, f"页码格式正确，但字号为{zh}", f"page number laid out right but its size is {en}"
                    return True, "页脚有格式正确的页码", "footer has a page number in the required format"
        if seen:
            shown = seen[0].replace("{PAGE}", "1")
            return False, f"页码格式为“{shown}”，不符合要求", f"the page number reads “{shown}”, not as required"
        return False, "页脚中没有页码（页码域）", "no page number field in the footer"


@register
class Table(Rule):
    """``table``: table number ``index`` (0-based, default 0) of the body exists with ``rows`` and
    ``cols`` (exact; either optional, or ``min_rows``), first-row texts ``header`` (list, in order),
    and optionally ``header_repeat: true`` (first row repeats on each page, 标题行重复)."""

    kind, file_kind = "table", "docx"

    def read(self, f):
        self.index = f.int("index", required=False, default=0, minimum=0)
        self.rows = f.int("rows", required=False, minimum=1)
        self.min_rows = f.int("min_rows", required=False, minimum=1)
        self.cols = f.int("cols", required=False, minimum=1)
        self.header = f.str_list("header", required=False)
        self.header_repeat = f.bool("header_repeat")

    def evaluate(self, doc):
        tables = doc.document.tables
        if len(tables) <= self.index:
            return False, f"文档中只有 {len(tables)} 个表格", f"the document has {len(tables)} table(s)"
        t = tables[self.index]
        nrows, ncols = len(t.rows), len(t.columns)
        if self.rows is not None and nrows != self.rows:
            return False, f"表格有 {nrows} 行，应为 {self.rows} 行", f"the table has {nrows} rows, {self.rows} required"
        if self.min_rows is not None and nrows < self.min_rows:
            return False, f"表格只有 {nrows} 行，至少应有 {self.min_rows} 行", f"the table has {nrows} rows, at least {self.min_rows} required"
        if self.cols is not None and ncols != self.cols:
            return False, f"表格有 {ncols} 列，应为 {self.cols} 列", f"the table has {ncols} columns, {self.cols} required"
        if self.header:
            got = [re.sub(r"\s+", "", c.text) for c in t.rows[0].cells]
            want = [re.sub(r"\s+", "", h) for h in self.header]
            if got[:len(want)] != want:
                return False, f"表头为“{'、'.join(got)}”，应为“{'、'.join(want)}”", \
                    f"the header reads “{', '.join(got)}”, “{', '.join(want)}” required"
        if self.header_repeat:
            trpr = t.rows[0]._tr.find(w("trPr"))
            th = trpr.find(w("tblHeader")) if trpr is not None else None
            if th is None or th.get(w("val"), "1") in ("0", "false", "off"):
                return False, "表格第一行没有设置“标题行重复”", "the first row is not set to repeat as a header row"
        return True, f"表格 {nrows} 行 × {ncols} 列，符合要求", f"table of {nrows} × {ncols} as required"


def _pages(doc) -> list[str]:
    """Body text split at hard page breaks (``w:br type=page``, ``pageBreakBefore``, section breaks)."""
    pages, current = [], []
    for p in doc.body_paragraphs(in_tables=False):
        el = p._p
        ppr = el.find(w("pPr"))
        if ppr is not None and ppr.find(w("pageBreakBefore")) is not None and \
                ppr.find(w("pageBreakBefore")).get(w("val"), "1") not in ("0", "false") and current:
            pages.append("\n".join(current))
            current = []
        for child in el.iter():
            if child.tag == w("br") and child.get(w("type")) == "page":
                current.append("")
                pages.append("\n".join(current))
                current = []
            elif child.tag == w("t"):
                if current:
                    current[-1] += child.text or ""
                else:
                    current.append(child.text or "")
        current.append("")
        sect = ppr.find(w("sectPr")) if ppr is not None else None
        if sect is not None:
            typ = sect.find(w("type"))
            if typ is None or typ.get(w("val")) in ("nextPage", "oddPage", "evenPage"):
                pages.append("\n".join(current))
                current = []
    if "".join(current).strip():
        pages.append("\n".join(current))
    return [pg for pg in pages if pg.strip()]


@register
class MergedPages(Rule):
    """``merged_pages``: a mail-merge result. The body splits at page breaks into exactly one page per
    entry of ``values`` (e.g. department names), each page names exactly one of the values (each value
    on one page) and matches ``each_page`` (regular expression, e.g. the notice's title). A value
    counts where ``value_line`` matches (a regular expression in which ``{value}`` stands for the
    value; default ``^{value}`` at a line start, e.g. ``^{value}：$`` for the salutation line)."""

    kind, file_kind = "merged_pages", "docx"

    def read(self, f):
        self.values = f.str_list("values")
        self.each_page = f.regex("each_page")
        self.value_line = f.str("value_line", required=False, default="^{value}")
        if "{value}" not in self.value_line:
            raise f.where.error("value_line", "must contain {value}")
        try:
            re.compile(self.value_line.replace("{value}", "x"))
        except re.error as exc:
            raise f.where.error("value_line", f"invalid regular expression ({exc})") from exc

    def evaluate(self, doc):
        pages = _pages(doc)
        if len(pages) != len(self.values):
            return False, f"按分页符分开共 {len(pages)} 页，应为 {len(self.values)} 页（每个单位一页）", \
                f"{len(pages)} page(s) between page breaks, {len(self.values)} required (one per recipient)"
        missing = list(self.values)
        for i, page in enumerate(pages, 1):
            if not re.search(self.each_page, page):
                return False, f"第 {i} 页缺少通知正文", f"page {i} does not hold the notice"
            hits = [v for v in self.values
                    if re.search(self.value_line.replace("{value}", re.escape(v)), page, flags=re.M)]
            if len(hits) != 1:
                return False, f"第 {i} 页应只对应一个单位，实际找到 {len(hits)} 个", \
                    f"page {i} should name exactly one recipient, it names {len(hits)}"
            if hits[0] in missing:
                missing.remove(hits[0])
        if missing:
            return False, f"缺少：{'、'.join(missing)}", f"missing: {', '.join(missing)}"
        return True, f"共 {len(pages)} 页，每个单位一页", f"{len(pages)} pages, one per recipient"
