"""Certificate PDF rendering.

Produces a one-page, A4 landscape (297 mm x 210 mm) certificate with Chinese
and English text and a QR code that points to the public verification page.

Libraries:

* reportlab draws the page.  Chinese text uses a TrueType/TTC CJK font when one
  is configured or found (``CERTIFICATE_FONT_PATH``, e.g. WenQuanYi Micro Hei or
  Noto Sans CJK): it is embedded as a subset with a ToUnicode map, so every
  viewer shows the same glyphs and the text can be searched and copied.
  Without one, reportlab's built-in Adobe CID font ``STSong-Light``
  (``UniGB-UCS2-H``) is referenced but not embedded; viewers substitute a local
  Song typeface.  Latin text uses the standard Times and Helvetica fonts.
* segno computes the QR code; its module matrix is drawn as vector rectangles,
  so no raster image (and no Pillow) is involved.

All lengths inside this module are PDF points (1 pt = 1/72 inch) unless a name
ends in ``_mm``; ``reportlab.lib.units.mm`` converts millimetres to points.
"""

from __future__ import annotations

import datetime
import io
import os
import re
from dataclasses import dataclass
from xml.sax.saxutils import escape

import segno
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph

__all__ = ["CertificateDocument", "find_cjk_font", "render_certificate_pdf"]


@dataclass(frozen=True)
class CertificateDocument:
    """Everything printed on one certificate.

    All fields are plain text (no markup); characters such as ``&`` or ``<``
    are escaped by the renderer.
    """

    serial: str  # e.g. "CSDS-SEC-2026-000123"
    verification_code: str  # e.g. "K7Q2-M9XD-4T"
    holder_name: str  # Chinese name, e.g. "王秀英"
    department_name: str  # e.g. "市财政局 预算处"
    certification_title_zh: str  # e.g. "数据安全管理员"
    certification_title_en: str  # e.g. "Data Security Officer"
    issued_on: datetime.date  # local date
    expires_on: datetime.date | None  # None: does not expire
    verify_url: str  # absolute URL of the public verification page
    issuer_zh: str  # e.g. "XX市公务员培训中心"
    issuer_en: str  # e.g. "XX Municipal Civil Service Training Centre"


# --------------------------------------------------------------------------
# Fonts, colours, page geometry
# --------------------------------------------------------------------------

CJK_FONT = "STSong-Light"
SERIF = "Times-Roman"
SERIF_ITALIC = "Times-Italic"
SERIF_BOLD = "Times-Bold"
SANS = "Helvetica"
SANS_BOLD = "Helvetica-Bold"

INK = colors.HexColor("#1A1A1A")
MUTED = colors.HexColor("#555555")
ACCENT = colors.HexColor("#1F3A5F")  # dark navy for border and rules

PAGE_WIDTH, PAGE_HEIGHT = landscape(A4)  # 841.89 pt x 595.28 pt

QR_SIZE_MM = 35.0  # edge of the QR symbol itself, quiet zone not included
QR_QUIET_ZONE_MODULES = 4  # ISO/IEC 18004 minimum quiet zone


CID_FONT = "STSong-Light"
EMBEDDED_FONT = "CertificateCJK"
# TrueType CJK fonts commonly installed on servers and desktops, tried in order when no font is
# configured (reportlab embeds TrueType outlines only, not the CFF outlines of Noto/Source Han CJK).
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "C:/Windows/Fonts/simsun.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)


def find_cjk_font(configured: str | None = None) -> str | None:
    """Path of a TrueType CJK font to embed: ``configured`` if it exists, else the first of
    FONT_CANDIDATES found, else None (the certificate then uses the non-embedded CID font)."""
    for path in ([configured] if configured else []) + list(FONT_CANDIDATES):
        if path and os.path.isfile(path):
            return path
    return None


def _register_fonts(font_path: str | None) -> None:
    """Choose the CJK font for this rendering (idempotent per font).

    With ``font_path``, the TrueType font is embedded (subset) with a ToUnicode map, so every viewer
    shows the same glyphs and text can be searched and copied. Without it, reportlab's built-in
    STSong-Light CID font is referenced, which viewers substitute with a local Song typeface.
    """
    global CJK_FONT
    if font_path:
        name = f"{EMBEDDED_FONT}-{abs(hash(font_path))}"
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(name, font_path, subfontIndex=0))
        CJK_FONT = name
    else:
        if CID_FONT not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
        CJK_FONT = CID_FONT


# --------------------------------------------------------------------------
# Formatting helpers
# --------------------------------------------------------------------------


def format_date_zh(d: datetime.date) -> str:
    """``date(2026, 11, 22)`` -> ``"2026年11月22日"`` (no zero padding)."""
    return f"{d.year}年{d.month}月{d.day}日"


def _title_phrase_zh(title: str) -> str:
    """Quote the certification title for the Chinese body sentence.

    Returns e.g. ``“数据安全管理员”证书``; a title that already names a
    certificate (contains 证书, also before a qualifier as in
    ``公务员计算机与数字技能合格证书（基础）``) is quoted whole, without a second 证书.
    """
    title = title.strip()
    if "证书" in title:
        return f"“{title}”"
    return f"“{title}”证书"


def _certificate_name_zh(title: str) -> str:
    """The certificate's proper name for the PDF title metadata: the title itself when it already
    names a certificate (``网络安全与保密合格证书``), else title + 合格证书 (``数据安全管理员合格证书``)."""
    title = title.strip()
    return title if "证书" in title else f"{title}合格证书"


# --------------------------------------------------------------------------
# Drawing helpers
# --------------------------------------------------------------------------


def _fit_single_line(text: str, font: str, max_size: float, min_size: float,
                     max_width: float) -> float:
    """Largest font size in ``[min_size, max_size]`` (pt, 0.25 pt steps) at
    which ``text`` is at most ``max_width`` pt wide; ``min_size`` if none."""
    size = max_size
    while size > min_size and pdfmetrics.stringWidth(text, font, size) > max_width:
        size -= 0.25
    return max(size, min_size)


def _draw_fitted_string(c: Canvas, text: str, x: float, y: float, *,
                        font: str, max_size: float, min_size: float,
                        max_width: float, align: str = "left",
                        color=INK) -> float:
    """Draw one line of text, shrinking the font so it fits ``max_width``.

    ``x``/``y`` are the anchor point (pt) on the baseline; ``align`` is
    ``"left"``, ``"centre"`` or ``"right"``.  If the text does not fit even at
    ``min_size`` it is scaled horizontally so it never overflows.
    Returns the font size used (pt).
    """
    size = _fit_single_line(text, font, max_size, min_size, max_width)
    width = pdfmetrics.stringWidth(text, font, size)
    h_scale = 100.0
    if width > max_width and width > 0:
        h_scale = 100.0 * max_width / width
        width = max_width
    if align == "centre":
        x0 = x - width / 2
    elif align == "right":
        x0 = x - width
    else:
        x0 = x
    t = c.beginText(x0, y)
    t.setFont(font, size)
    t.setFillColor(color)
    if h_scale != 100.0:
        t.setHorizScale(h_scale)
    t.textOut(text)
    c.drawText(t)
    return size


def _fit_paragraphs(make_paragraphs, width: float, height: float,
                    max_scale: float = 1.0, min_scale: float = 0.3,
                    gap: float = 0.0):
    """Find the largest scale at which a stack of paragraphs fits a box.

    ``make_paragraphs(scale)`` returns a list of ``Paragraph`` objects whose
    font sizes are multiplied by ``scale``; they are stacked top to bottom
    with ``gap * scale`` pt between them inside a box ``width`` x ``height``
    pt.  Returns ``(paragraphs, heights, scale)`` after wrapping.  At
    ``min_scale`` the result is returned even if it is still too tall.
    """
    scale = max_scale
    while True:
        paras = make_paragraphs(scale)
        heights = [p.wrap(width, height)[1] for p in paras]
        total = sum(heights) + gap * scale * (len(paras) - 1)
        if total <= height or scale <= min_scale:
            return paras, heights, scale
        scale = max(min_scale, scale - 0.025)


def _draw_paragraph_stack(c: Canvas, paras, heights, x: float, top: float,
                          gap: float) -> None:
    """Draw wrapped paragraphs one below the other starting at ``top`` (pt)."""
    y = top
    for p, h in zip(paras, heights):
        y -= h
        p.drawOn(c, x, y)
        y -= gap


# Chinese line-breaking rules (GB/T 15834 punctuation placement): these may not
# begin a line ...
_NO_LINE_START = set("，。、；：？！）》」』】〕〉”’…—·%,.;:?!)]}>\"'")
# ... and these may not end one.
_NO_LINE_END = set("（《「『【〔〈“‘([{<")
# Preferred (not required) break points: after these characters.
_PREFERRED_BREAK_AFTER = set("，、；：。）》」 ")


# Words of our certificate texts that a line break must not split (Chinese has no spaces, so
# without a list a greedy breaker happily splits 考|核 or 培训|中心 at the right width). The list holds
# the fixed body sentence, the shipped certification titles (courses/certifications.yaml) and the
# usual words of issuer names; names of people and units are kept together by :func:`name_runs`.
KEEP_TOGETHER_ZH = (
    "兹证明", "同志", "完成", "规定", "课程", "学习", "通过", "考核", "获得", "合格证书", "合格", "证书",
    "公务员", "计算机", "数字技能", "技能", "网络安全", "安全", "保密", "操作系统", "系统", "基础", "公文",
    "排版", "文字处理", "处理", "电子表格", "表格", "数据", "培训中心", "培训", "中心", "行政学院", "学院",
    "党校", "组织部", "人力资源", "社会保障", "办公室", "信息化", "管理",
)
_CJK_RUN = re.compile(r"[\u3400-\u9fff]{2,10}")


def name_runs(*names: str) -> tuple[str, ...]:
    """Runs of 2–10 ideographs in proper names (a person, a unit such as 市财政局 or 预算处, an
    issuer), split at spaces, brackets and other punctuation, to be kept on one line each.

    A dictionary-free rule for text no list can foresee: a unit's name between separators is one
    word to its reader, and at 10 characters it is short enough for any line on the certificate
    (longer runs, e.g. 滨江市人力资源和社会保障局, fall back to :data:`KEEP_TOGETHER_ZH`).
    """
    return tuple(run for name in names for run in _CJK_RUN.findall(name or ""))


def _break_cjk(text: str, font: str, size: float, max_width: float, keep=()) -> list[str]:
    """Greedy line breaking for Chinese text, ``max_width`` in pt.

    Breaks between any two characters except: before closing punctuation,
    after opening punctuation, inside runs of Latin letters/digits, and inside
    any occurrence of a word of ``keep`` (e.g. :data:`KEEP_TOGETHER_ZH`);
    prefers breaking after a comma or closing bracket, or at a space.
    Spaces at line ends are dropped.  When a line has no break outside the
    ``keep`` words (a word longer than the line), it breaks by the
    punctuation rules alone; a line is only overfull when no legal break
    exists in it at all.
    """
    inside_word: set[int] = set()  # i: a break before text[i] would split a keep word
    for word in keep:
        pos = text.find(word)
        while pos >= 0 and len(word) > 1:
            inside_word.update(range(pos + 1, pos + len(word)))
            pos = text.find(word, pos + 1)

    def glued_punct(i: int) -> bool:
        a, b = text[i - 1], text[i]
        latin = a.isascii() and a.isalnum() and b.isascii() and b.isalnum()
        return b in _NO_LINE_START or a in _NO_LINE_END or latin

    def glued(i: int) -> bool:
        return glued_punct(i) or i in inside_word

    lines: list[str] = []
    start, n = 0, len(text)
    while start < n:
        end = start + 1
        while end < n and pdfmetrics.stringWidth(
                text[start:end + 1].rstrip(), font, size) <= max_width:
            end += 1
        if end < n:
            for rule in (glued, glued_punct):
                brk = end
                while brk > start + 1 and rule(brk):
                    brk -= 1
                if not rule(brk):
                    break
            if brk > start + 1 or not glued_punct(brk):
                end = brk
                # Prefer a break after a comma/bracket or at a space when one
                # lies in the last 40 % of the line.
                for pref in range(end, start + (end - start) * 3 // 5, -1):
                    if text[pref - 1] in _PREFERRED_BREAK_AFTER or text[pref] == " ":
                        if not glued(pref):
                            end = pref
                            break
        line = text[start:end].strip()
        if line:
            lines.append(line)
        start = end
        while start < n and text[start] == " ":
            start += 1
    return lines


def _break_cjk_balanced(text: str, font: str, size: float,
                        max_width: float, keep=()) -> list[str]:
    """Like :func:`_break_cjk` but with lines of similar length: the
    narrowest width (pt, >= half of ``max_width``) giving no more lines than
    the greedy break at ``max_width`` is used, so no short orphan line."""
    lines = _break_cjk(text, font, size, max_width, keep)
    if len(lines) < 2:
        return lines
    lo, hi = max_width / 2, max_width
    while hi - lo > 1.0:
        mid = (lo + hi) / 2
        if len(_break_cjk(text, font, size, mid, keep)) <= len(lines):
            hi = mid
        else:
            lo = mid
    return _break_cjk(text, font, size, hi, keep)


def _bilingual_paras(zh_text: str, en_text: str, width: float, *, zh_size: float, zh_leading: float,
                     en_size: float, en_leading: float, en_font: str, keep=()) -> list[Paragraph]:
    """A centred Chinese paragraph (balanced CJK line breaks within ``width`` pt) and its English
    translation below it in ``en_font``; sizes in pt, leadings as multiples of the size."""
    zh_style = ParagraphStyle(
        "zh", fontName=CJK_FONT, fontSize=zh_size, leading=zh_size * zh_leading,
        alignment=TA_CENTER, textColor=INK, wordWrap="CJK")
    en_style = ParagraphStyle(
        "en", fontName=en_font, fontSize=en_size, leading=en_size * en_leading,
        alignment=TA_CENTER, textColor=MUTED)
    zh_lines = _break_cjk_balanced(zh_text, CJK_FONT, zh_size, width, keep)
    return [Paragraph("<br/>".join(escape(x) for x in zh_lines), zh_style),
            Paragraph(escape(en_text), en_style)]


def _wrap_chars(text: str, font: str, size: float, max_width: float) -> list[str]:
    """Break ``text`` into lines no wider than ``max_width`` pt, at any
    character (URLs have no spaces to break at)."""
    lines: list[str] = []
    current = ""
    for ch in text:
        if current and pdfmetrics.stringWidth(current + ch, font, size) > max_width:
            lines.append(current)
            current = ch
        else:
            current += ch
    if current:
        lines.append(current)
    return lines


def _split_url(url: str, font: str, size: float, max_width: float) -> list[str]:
    """Two lines for a URL too long for one (``max_width`` pt): broken after a ``/`` (else after
    ``.``, ``-``, ``?``, ``&`` or ``=``) where the longer line is shortest, never after a lone
    character; if no such break fits, at the character that balances the lines."""
    def width(text: str) -> float:
        return pdfmetrics.stringWidth(text, font, size)

    for marks in ("/", ".-?&="):
        fits = [i for i in range(2, len(url) - 1)
                if url[i - 1] in marks and width(url[:i]) <= max_width and width(url[i:]) <= max_width]
        if fits:
            best = min(fits, key=lambda i: max(width(url[:i]), width(url[i:])))
            return [url[:best], url[best:]]
    best = min(range(1, len(url)), key=lambda i: max(width(url[:i]), width(url[i:])))
    return [url[:best], url[best:]]


def _draw_qr(c: Canvas, data: str, x: float, y: float, size: float) -> None:
    """Draw a QR code for ``data`` as filled vector rectangles.

    ``x``, ``y``: lower-left corner (pt) of the symbol, quiet zone excluded;
    ``size``: edge length (pt) of the symbol.  The caller keeps
    ``QR_QUIET_ZONE_MODULES`` modules of white around it.  Error correction is
    at least M (segno raises it when that costs no extra size).
    """
    qr = segno.make(data, error="m", micro=False)
    rows = [list(r) for r in qr.matrix_iter(scale=1, border=0)]
    n = len(rows)
    module = size / n
    # Slight overlap (0.5 % of a module) avoids hairline seams between
    # neighbouring rectangles in anti-aliasing viewers.
    bleed = module * 0.005
    path = c.beginPath()
    for r, row in enumerate(rows):
        row_y = y + (n - 1 - r) * module
        col = 0
        while col < n:
            if row[col]:
                start = col
                while col < n and row[col]:
                    col += 1
                path.rect(x + start * module - bleed, row_y - bleed,
                          (col - start) * module + 2 * bleed, module + 2 * bleed)
            else:
                col += 1
    c.saveState()
    c.setFillColor(colors.black)
    c.drawPath(path, stroke=0, fill=1)
    c.restoreState()


def qr_quiet_zone(data: str, size: float) -> float:
    """Width (pt) of the required quiet zone for a symbol of ``size`` pt."""
    n = segno.make(data, error="m", micro=False).symbol_size(border=0)[0]
    return QR_QUIET_ZONE_MODULES * size / n


# --------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------


def render_certificate_pdf(doc: CertificateDocument, font_path: str | None = None) -> bytes:
    """Render ``doc`` as a one-page PDF and return the file's bytes.

    ``font_path``: a TrueType CJK font (.ttf/.ttc) to embed (see :func:`find_cjk_font`); None uses
    the non-embedded STSong-Light CID font.

    Page: A4 landscape, 297 mm x 210 mm (841.89 pt x 595.28 pt).
    Layout (mm from the bottom-left corner of the page):

    * double border at 10 mm and 12.5 mm from the edges;
    * title 合格证书 / CERTIFICATE centred near the top (baselines ~174/164 mm);
    * holder name, centred, up to 32 pt, shrunk (and if needed wrapped) to
      fit a 200 mm x 16 mm box;
    * Chinese body sentence (16 pt) and its English translation (11.5 pt),
      237 mm wide, at most 56 mm tall, shrunk together until they fit; name
      and body are centred vertically between the title rule and 72 mm;
    * bottom-left: issue date, expiry date (or 长期有效 / Does not expire),
      serial number and verification code;
    * bottom-centre: issuer name (Chinese and English) and issue date;
    * bottom-right: QR code, 35 mm square plus quiet zone, encoding
      ``doc.verify_url``, with the caption 扫码验证 / Scan to verify and the URL
      in small type below it.

    PDF metadata: Title = "<certificate name> <serial>" (:func:`_certificate_name_zh`), Author =
    ``doc.issuer_zh``, Subject, Keywords, Creator; document language zh-CN.
    """
    _register_fonts(font_path)
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), pageCompression=1,
               lang="zh-CN")

    title_meta = f"{_certificate_name_zh(doc.certification_title_zh)} {doc.serial}"
    c.setTitle(title_meta)
    c.setAuthor(doc.issuer_zh)
    c.setSubject(
        f"{doc.holder_name} — {doc.certification_title_zh} / "
        f"{doc.certification_title_en}")
    c.setKeywords([doc.serial, doc.verification_code, "合格证书", "Certificate"])
    c.setCreator("CivicSkills")

    W, H = PAGE_WIDTH, PAGE_HEIGHT
    cx = W / 2

    # ---- border -------------------------------------------------------
    c.setStrokeColor(ACCENT)
    c.setLineWidth(1.6)
    c.rect(10 * mm, 10 * mm, W - 20 * mm, H - 20 * mm)
    c.setLineWidth(0.5)
    c.rect(12.5 * mm, 12.5 * mm, W - 25 * mm, H - 25 * mm)

    # ---- title ----------------------------------------------------------
    c.setFillColor(ACCENT)
    c.setFont(CJK_FONT, 34)
    c.drawCentredString(cx, H - 36 * mm, "合格证书", charSpace=14)
    c.setFont(SERIF, 13)
    c.drawCentredString(cx, H - 46 * mm, "CERTIFICATE", charSpace=5)
    c.setLineWidth(0.6)
    c.line(cx - 40 * mm, H - 51 * mm, cx + 40 * mm, H - 51 * mm)

    # ---- holder name and body ------------------------------------------
    # Both are fitted to their own boxes, then the pair is centred vertically
    # in the free band between the title rule (H - 51 mm) and the top of the
    # bottom block (72 mm, clear of the QR code's quiet zone).
    band_top, band_bottom = H - 55 * mm, 72 * mm
    name_box_w, name_box_h = 200 * mm, 16 * mm
    body_box_w, body_box_h = W - 60 * mm, 56 * mm
    name_body_gap = 9 * mm

    def name_paras(scale: float):
        size = 32 * scale
        style = ParagraphStyle(
            "holder", fontName=CJK_FONT, fontSize=size, leading=size * 1.2,
            alignment=TA_CENTER, textColor=INK, wordWrap="CJK")
        return [Paragraph(escape(doc.holder_name), style)]

    name_ps, name_hs, _ = _fit_paragraphs(name_paras, name_box_w, name_box_h,
                                          min_scale=0.3)

    zh_sentence = (
        f"兹证明 {doc.holder_name} 同志（{doc.department_name}）"
        f"完成规定课程学习并通过考核，获得{_title_phrase_zh(doc.certification_title_zh)}。")
    en_sentence = (
        "This is to certify that the holder named above has completed the "
        "prescribed course of study, passed the assessment, and is awarded "
        f"the certificate \u201c{doc.certification_title_en}\u201d.")
    body_gap = 10
    body_keep = KEEP_TOGETHER_ZH + name_runs(doc.holder_name, doc.department_name)
    issuer_keep = KEEP_TOGETHER_ZH + name_runs(doc.issuer_zh)

    def body_paras(scale: float):
        return _bilingual_paras(zh_sentence, en_sentence, body_box_w, zh_size=16 * scale, zh_leading=1.7,
                                en_size=11.5 * scale, en_leading=1.4, en_font=SERIF_ITALIC, keep=body_keep)

    body_ps, body_hs, scale = _fit_paragraphs(body_paras, body_box_w, body_box_h,
                                              gap=body_gap, min_scale=0.35)
    body_h = sum(body_hs) + body_gap * scale * (len(body_hs) - 1)
    total_h = sum(name_hs) + name_body_gap + body_h
    top = band_top - max(0.0, (band_top - band_bottom - total_h) / 2)
    _draw_paragraph_stack(c, name_ps, name_hs, cx - name_box_w / 2, top, 0)
    _draw_paragraph_stack(c, body_ps, body_hs, cx - body_box_w / 2,
                          top - sum(name_hs) - name_body_gap, body_gap * scale)

    # ---- details (bottom left) -------------------------------------------
    left_x = 28 * mm
    value_x = left_x + 40 * mm
    value_w = 150 * mm - value_x  # values end at 150 mm from the left edge
    if doc.expires_on is None:
        expiry_rows = [("长期有效", CJK_FONT, 10.5), ("  / Does not expire", SERIF, 10.5)]
    else:
        expiry_rows = [(format_date_zh(doc.expires_on), CJK_FONT, 10.5),
                       (f"  ({doc.expires_on.isoformat()})", SERIF, 10.5)]
    details = [
        ("发证日期", "Date of issue",
         [(format_date_zh(doc.issued_on), CJK_FONT, 10.5),
          (f"  ({doc.issued_on.isoformat()})", SERIF, 10.5)]),
        ("有效期至", "Valid until", expiry_rows),
        ("证书编号", "Serial No.", [(doc.serial, SANS, 10.5)]),
        ("验证码", "Verification code", [(doc.verification_code, SANS_BOLD, 10.5)]),
    ]
    row_y = 56 * mm
    for zh_label, en_label, segments in details:
        c.setFillColor(INK)
        c.setFont(CJK_FONT, 10.5)
        c.drawString(left_x, row_y, zh_label)
        c.setFillColor(MUTED)
        c.setFont(SERIF, 7.5)
        c.drawString(left_x, row_y - 3.4 * mm, en_label)
        _draw_segments(c, segments, value_x, row_y, value_w)
        row_y -= 10 * mm

    # ---- QR code (bottom right) -------------------------------------------
    qr_size = QR_SIZE_MM * mm
    qr_right = W - 24 * mm
    qr_x = qr_right - qr_size
    qr_y = 31 * mm
    _draw_qr(c, doc.verify_url, qr_x, qr_y, qr_size)
    qr_cx = qr_x + qr_size / 2
    caption_y = qr_y - 4.5 * mm
    c.setFillColor(INK)
    cap_zh, cap_en = "扫码验证", " / Scan to verify"
    cap_w = (pdfmetrics.stringWidth(cap_zh, CJK_FONT, 8.5)
             + pdfmetrics.stringWidth(cap_en, SERIF, 8.5))
    _draw_segments(c, [(cap_zh, CJK_FONT, 8.5), (cap_en, SERIF, 8.5)],
                   qr_cx - cap_w / 2, caption_y, qr_size + 20 * mm)
    url_box_w = qr_size + 18 * mm
    url_size = 6.5
    url_lines = _wrap_chars(doc.verify_url, SANS, url_size, url_box_w)
    while len(url_lines) > 2 and url_size > 4.5:
        url_size -= 0.25
        url_lines = _wrap_chars(doc.verify_url, SANS, url_size, url_box_w)
    if len(url_lines) > 2:  # absurdly long URL: keep the start, mark the cut
        url_lines = url_lines[:2]
        url_lines[1] = url_lines[1][:-1] + "…"
    elif len(url_lines) == 2:
        url_lines = _split_url(doc.verify_url, SANS, url_size, url_box_w)
    y = caption_y - 3.6 * mm
    for line in url_lines:
        _draw_fitted_string(c, line, qr_cx, y, font=SANS, max_size=url_size,
                            min_size=url_size, max_width=url_box_w,
                            align="centre", color=MUTED)
        y -= url_size * 1.25

    # ---- issuer (bottom centre) --------------------------------------------
    issuer_cx = (150 * mm + (qr_x - 8 * mm)) / 2
    issuer_w = (qr_x - 8 * mm) - 150 * mm
    c.setStrokeColor(MUTED)
    c.setLineWidth(0.4)
    c.line(issuer_cx - issuer_w / 2, 50 * mm, issuer_cx + issuer_w / 2, 50 * mm)
    # Issuer names: up to 14 pt / 10 pt, wrapped and shrunk together to fit
    # the box between the rule (50 mm) and the issue date (30 mm).
    issuer_box_top, issuer_box_h = 48.5 * mm, 14 * mm

    def issuer_paras(scale: float):
        return _bilingual_paras(doc.issuer_zh, doc.issuer_en, issuer_w, zh_size=14 * scale, zh_leading=1.25,
                                en_size=10 * scale, en_leading=1.2, en_font=SERIF, keep=issuer_keep)

    issuer_ps, issuer_hs, i_scale = _fit_paragraphs(
        issuer_paras, issuer_w, issuer_box_h, gap=3, min_scale=0.45)
    issuer_h = sum(issuer_hs) + 3 * i_scale
    _draw_paragraph_stack(
        c, issuer_ps, issuer_hs, issuer_cx - issuer_w / 2,
        issuer_box_top - max(0.0, (issuer_box_h - issuer_h) / 2), 3 * i_scale)
    _draw_fitted_string(c, format_date_zh(doc.issued_on), issuer_cx, 30 * mm,
                        font=CJK_FONT, max_size=10.5, min_size=8,
                        max_width=issuer_w, align="centre")

    c.showPage()
    c.save()
    return buf.getvalue()


def _draw_segments(c: Canvas, segments, x: float, y: float,
                   max_width: float) -> None:
    """Draw ``[(text, font, size_pt), ...]`` one after another on a baseline.

    If the run is wider than ``max_width`` pt, every size is scaled down by
    the same factor (to at least 45 %), then squeezed horizontally.
    """
    def run_width(factor: float) -> float:
        return sum(pdfmetrics.stringWidth(t, f, s * factor) for t, f, s in segments)

    factor = 1.0
    while factor > 0.45 and run_width(factor) > max_width:
        factor -= 0.025
    width = run_width(factor)
    h_scale = 100.0 if width <= max_width else 100.0 * max_width / width
    t = c.beginText(x, y)
    t.setFillColor(INK)
    if h_scale != 100.0:
        t.setHorizScale(h_scale)
    for text, font, size in segments:
        t.setFont(font, size * factor)
        t.textOut(text)
    c.drawText(t)
