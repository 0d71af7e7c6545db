"""Opened uploads handed to rules: ``DocxDoc`` (python-docx), ``XlsxDoc`` (openpyxl, formulas and
cached values), ``PptxDoc`` (python-pptx). ``open_document(kind, data)`` picks one.

Only call these on bytes that passed ``safety.inspect_upload`` (no DTDs, bounded sizes). Raw XML
parts are parsed with defusedxml. Word measurements: twips (1/20 pt) and half-points are converted
to points and millimetres here.
"""
from __future__ import annotations

import io
import xml.etree.ElementTree as StdET  # serialising only (without_pivot_tables); parsing is defusedxml
import zipfile
from functools import cached_property

from defusedxml import ElementTree as SafeET

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
A = "http://schemas.openxmlformats.org/drawingml/2006/main"


def w(tag: str) -> str:
    """Clark name of a WordprocessingML tag or attribute: ``w('sz')`` → ``{ns}sz``."""
    return f"{{{W}}}{tag}"


class DocxDoc:
    """A .docx upload: ``document`` (python-docx Document) and style-aware property look-ups.

    Property resolution follows Word: direct formatting of the run, then its character style chain,
    then the paragraph's style chain (``basedOn``), then the document defaults (``w:docDefaults``).
    """

    kind = "docx"

    def __init__(self, data: bytes):
        import docx

        self.data = data
        self.zip = zipfile.ZipFile(io.BytesIO(data))
        self.document = docx.Document(io.BytesIO(data))
        styles = self.document.styles.element
        self.styles = {s.get(w("styleId")): s for s in styles.findall(w("style"))}
        self.default_pstyle = next((s for s in styles.findall(w("style"))
                                    if s.get(w("type")) == "paragraph" and s.get(w("default")) in ("1", "true")), None)
        defaults = styles.find(w("docDefaults"))
        self.rpr_default = defaults.find(f"{w('rPrDefault')}/{w('rPr')}") if defaults is not None else None
        self.ppr_default = defaults.find(f"{w('pPrDefault')}/{w('pPr')}") if defaults is not None else None

    # --- style chains -------------------------------------------------------------------------
    def _chain(self, style):
        seen = set()
        while style is not None and id(style) not in seen:
            seen.add(id(style))
            yield style
            based = style.find(w("basedOn"))
            style = self.styles.get(based.get(w("val"))) if based is not None else None

    def _pstyle(self, p):
        ppr = p.find(w("pPr"))
        ps = ppr.find(w("pStyle")) if ppr is not None else None
        if ps is not None and ps.get(w("val")) in self.styles:
            return self.styles[ps.get(w("val"))]
        return self.default_pstyle

    def run_levels(self, p, r):
        """The ``w:rPr`` elements that apply to run ``r`` in paragraph ``p``, most specific first."""
        levels = []
        rpr = r.find(w("rPr"))
        if rpr is not None:
            levels.append(rpr)
            rs = rpr.find(w("rStyle"))
            if rs is not None:
                levels += [s.find(w("rPr")) for s in self._chain(self.styles.get(rs.get(w("val"))))]
        levels += [s.find(w("rPr")) for s in self._chain(self._pstyle(p))]
        levels.append(self.rpr_default)
        return [x for x in levels if x is not None]

    def para_levels(self, p):
        """The ``w:pPr`` elements that apply to paragraph ``p``, most specific first."""
        levels = [p.find(w("pPr"))] + [s.find(w("pPr")) for s in self._chain(self._pstyle(p))]
        levels.append(self.ppr_default)
        return [x for x in levels if x is not None]

    def east_asian_font(self, p, r) -> str | None:
        """The east-Asian font name of a run (``w:rFonts/@w:eastAsia`` or its theme font)."""
        for rpr in self.run_levels(p, r):
            fonts = rpr.find(w("rFonts"))
            if fonts is None:
                continue
            theme = fonts.get(w("eastAsiaTheme"))
            if theme:
                return self.theme_font(theme)
            if fonts.get(w("eastAsia")):
                return fonts.get(w("eastAsia"))
        return None

    def ascii_font(self, p, r) -> str | None:
        """The Latin (``w:ascii``) font of a run."""
        for rpr in self.run_levels(p, r):
            fonts = rpr.find(w("rFonts"))
            if fonts is not None and fonts.get(w("ascii")):
                return fonts.get(w("ascii"))
        return None

    def font_size_pt(self, p, r) -> float:
        """Font size of a run in points (``w:sz`` is in half-points; Word's default is 10 pt)."""
        for rpr in self.run_levels(p, r):
            sz = rpr.find(w("sz"))
            if sz is not None and sz.get(w("val")):
                return int(sz.get(w("val"))) / 2
        return 10.0

    def bold(self, p, r) -> bool:
        """True if the run is bold (``w:b`` without ``val="0"/"false"``) after inheritance."""
        for rpr in self.run_levels(p, r):
            b = rpr.find(w("b"))
            if b is not None:
                return b.get(w("val"), "1") not in ("0", "false", "off")
        return False

    def para_attr(self, p, child: str, attr: str) -> str | None:
        """First value of ``pPr/<child>/@<attr>`` along the paragraph's style chain."""
        for ppr in self.para_levels(p):
            el = ppr.find(w(child))
            if el is not None and el.get(w(attr)) is not None:
                return el.get(w(attr))
        return None

    @cached_property
    def _theme(self):
        name = next((n for n in self.zip.namelist() if n.startswith("word/theme/") and n.endswith(".xml")), None)
        return SafeET.fromstring(self.zip.read(name), forbid_dtd=True) if name else None

    def theme_font(self, which: str) -> str | None:
        """East-Asian font of the theme: ``which`` is minorEastAsia / majorEastAsia (others → Latin)."""
        if self._theme is None:
            return None
        group = "majorFont" if which.startswith("major") else "minorFont"
        fonts = self._theme.find(f".//{{{A}}}{group}")
        if fonts is None:
            return None
        if "EastAsia" in which:
            ea = fonts.find(f"{{{A}}}ea")
            if ea is not None and ea.get("typeface"):
                return ea.get("typeface")
            hans = fonts.find(f"{{{A}}}font[@script='Hans']")
            return hans.get("typeface") if hans is not None else None
        latin = fonts.find(f"{{{A}}}latin")
        return latin.get("typeface") if latin is not None else None

    # --- content -----------------------------------------------------------------------------
    def body_paragraphs(self, in_tables: bool = False):
        """Body paragraphs (python-docx ``Paragraph``) in order; with ``in_tables`` also those in tables."""
        from docx.text.paragraph import Paragraph

        body = self.document.element.body
        xpath = ".//w:p" if in_tables else "./w:p | ./w:sdt/w:sdtContent/w:p"
        return [Paragraph(p, self.document) for p in body.xpath(xpath)]

    def footer_parts(self):
        """Every header/footer object of every section: list of (kind "header"|"footer", part)."""
        out = []
        for s in self.document.sections:
            for kind, items in (("footer", (s.footer, s.even_page_footer, s.first_page_footer)),
                                ("header", (s.header, s.even_page_header, s.first_page_header))):
                for hf in items:
                    if not hf.is_linked_to_previous:
                        out.append((kind, hf))
        return out


class XlsxDoc:
    """A .xlsx upload: ``formulas`` (openpyxl workbook, ``data_only=False``: formulas as text) and
    ``values`` (``data_only=True``: the values Excel/WPS cached when saving; None where none)."""

    kind = "xlsx"

    def __init__(self, data: bytes):
        import openpyxl

        self.data = data
        #: True when openpyxl could not read the pivot tables, so they were left out (pivot rules fail
        #: with a plain reason; every other rule is still checked)
        self.pivots_unreadable = False
        try:
            self.formulas = openpyxl.load_workbook(io.BytesIO(data), data_only=False, keep_links=False)
        except Exception:
            stripped = without_pivot_tables(data)
            if stripped == data:
                raise
            self.data = stripped
            self.pivots_unreadable = True
            self.formulas = openpyxl.load_workbook(io.BytesIO(stripped), data_only=False, keep_links=False)
        self._values = None

    @property
    def values(self):
        if self._values is None:
            import openpyxl

            self._values = openpyxl.load_workbook(io.BytesIO(self.data), data_only=True, keep_links=False)
        return self._values

    def recalculated(self, sheet: str | None, ref: str):
        """Value of ``ref`` after an optional LibreOffice recalculation (``recalc.py``); None when
        recalculation is off or fails."""
        if not hasattr(self, "_recalc"):
            from app.practical.recalc import recalculated_workbook

            self._recalc = recalculated_workbook(self.data)
        if self._recalc is None:
            return None
        ws = self._recalc[sheet] if sheet else self._recalc.worksheets[0]
        return ws[ref].value

    def sheet(self, name: str | None, values: bool = False):
        """Worksheet by name (None: the first sheet); raises KeyError with the name if missing."""
        wb = self.values if values else self.formulas
        if name is None:
            return wb.worksheets[0]
        if name not in wb.sheetnames:
            raise KeyError(name)
        return wb[name]


PIVOT_TABLE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/pivotTable"


def without_pivot_tables(data: bytes) -> bytes:
    """A copy of an .xlsx with the worksheets' links to pivot tables removed (openpyxl is strict
    about pivot-table XML; a pivot feature it does not know must not make the whole file
    unreadable). Returns ``data`` unchanged when there is nothing to remove."""
    zin = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    changed = False
    rel_ns = "http://schemas.openxmlformats.org/package/2006/relationships"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            body = zin.read(info)
            if info.filename.startswith("xl/worksheets/_rels/") and info.filename.endswith(".rels"):
                root = SafeET.fromstring(body, forbid_dtd=True)
                drop = [r for r in root if r.get("Type") == PIVOT_TABLE_REL]
                if drop:
                    for r in drop:
                        root.remove(r)
                    StdET.register_namespace("", rel_ns)
                    body = StdET.tostring(root, encoding="utf-8", xml_declaration=True)
                    changed = True
            zout.writestr(info, body)
    return out.getvalue() if changed else data


class PptxDoc:
    """A .pptx upload: ``presentation`` (python-pptx Presentation)."""

    kind = "pptx"

    def __init__(self, data: bytes):
        from pptx import Presentation

        self.data = data
        self.presentation = Presentation(io.BytesIO(data))


def open_document(kind: str, data: bytes):
    """Open ``data`` as ``kind`` ("docx" | "xlsx" | "pptx")."""
    return {"docx": DocxDoc, "xlsx": XlsxDoc, "pptx": PptxDoc}[kind](data)
