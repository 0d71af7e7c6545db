"""Rule kinds for .pptx files (PowerPoint / WPS 演示). Field reference: docs/content-format.md.
Slides are numbered from 1 as the candidate sees them."""
from __future__ import annotations

import re

from app.practical.rules import Rule, register


def _title_text(slide) -> str:
    shape = slide.shapes.title
    return shape.text_frame.text.strip() if shape is not None and shape.has_text_frame else ""


def _slide(doc, n):
    slides = doc.presentation.slides
    return slides[n - 1] if 1 <= n <= len(slides) else None


def _no_slide(n, doc):
    total = len(doc.presentation.slides)
    return False, f"没有第 {n} 张幻灯片（共 {total} 张）", f"there is no slide {n} ({total} slides)"


@register
class SlideCount(Rule):
    """``slide_count``: the presentation has ``count`` slides (or between ``min`` and ``max``)."""

    kind, file_kind = "slide_count", "pptx"

    def read(self, f):
        self.count = f.int("count", required=False, minimum=1)
        self.min = f.int("min", required=False, minimum=1)
        self.max = f.int("max", required=False, minimum=1)
        if self.count is None and self.min is None and self.max is None:
            raise f.where.error("count", "give count, or min and/or max")

    def evaluate(self, doc):
        n = len(doc.presentation.slides)
        if self.count is not None and n != self.count:
            return False, f"共 {n} 张幻灯片，应为 {self.count} 张", f"{n} slides, {self.count} required"
        if (self.min is not None and n < self.min) or (self.max is not None and n > self.max):
            return False, f"共 {n} 张幻灯片，不在要求的范围内", f"{n} slides, outside the required range"
        return True, f"共 {n} 张幻灯片", f"{n} slides"


@register
class SlideTitle(Rule):
    """``slide_title``: slide ``slide`` has a title placeholder whose text matches ``text`` (regular
    expression) and, if given, one of the ``layouts`` (layout names, e.g. [标题幻灯片, Title Slide])."""

    kind, file_kind = "slide_title", "pptx"

    def read(self, f):
        self.slide = f.int("slide", minimum=1)
        self.text = f.regex("text", required=False)
        self.layouts = f.str_list("layouts", required=False)
        if self.text is None and self.layouts is None:
            raise f.where.error("text", "give text and/or layouts")

    def evaluate(self, doc):
        s = _slide(doc, self.slide)
        if s is None:
            return _no_slide(self.slide, doc)
        if self.layouts and s.slide_layout.name not in self.layouts:
            zh = next((x for x in self.layouts if re.search(r"[\u4e00-\u9fff]", x)), self.layouts[0])
            en = next((x for x in self.layouts if x.isascii()), self.layouts[0])
            return False, f"第 {self.slide} 张的版式为“{s.slide_layout.name}”，应为“{zh}”", \
                f"slide {self.slide} uses the layout “{s.slide_layout.name}”, “{en}” required"
        if self.text:
            title = _title_text(s)
            if not title:
                return False, f"第 {self.slide} 张没有标题", f"slide {self.slide} has no title"
            if not re.search(self.text, title):
                return False, f"第 {self.slide} 张的标题为“{title}”，不符合要求", f"slide {self.slide} is titled “{title}”, not as required"
        return True, f"第 {self.slide} 张的标题和版式符合要求", f"slide {self.slide} title and layout as required"


@register
class Picture(Rule):
    """``picture``: at least ``min_count`` pictures (default 1) on slide ``slide`` (or on any slide
    when ``slide`` is omitted); pictures inside placeholders count."""

    kind, file_kind = "picture", "pptx"

    def read(self, f):
        self.slide = f.int("slide", required=False, minimum=1)
        self.min_count = f.int("min_count", required=False, default=1, minimum=1)

    @staticmethod
    def _count(slide) -> int:
        from pptx.enum.shapes import MSO_SHAPE_TYPE

        n = 0
        for shape in slide.shapes:
            if shape.shape_type == MSO_SHAPE_TYPE.PICTURE or shape._element.tag.endswith("}pic"):
                n += 1
        return n

    def evaluate(self, doc):
        if self.slide:
            s = _slide(doc, self.slide)
            if s is None:
                return _no_slide(self.slide, doc)
            n, where_zh, where_en = self._count(s), f"第 {self.slide} 张幻灯片", f"slide {self.slide}"
        else:
            n, where_zh, where_en = sum(self._count(s) for s in doc.presentation.slides), "演示文稿", "the presentation"
        if n < self.min_count:
            return False, f"{where_zh}中有 {n} 张图片，至少应有 {self.min_count} 张", \
                f"{where_en} has {n} picture(s), at least {self.min_count} required"
        return True, f"{where_zh}中有 {n} 张图片", f"{where_en} has {n} picture(s)"


@register
class Notes(Rule):
    """``notes``: each of ``slides`` (list of slide numbers) has speaker notes (备注) with at least
    ``min_chars`` characters (default 10) and, if given, text matching ``text``."""

    kind, file_kind = "notes", "pptx"

    def read(self, f):
        slides = f.raw("slides")
        if isinstance(slides, int) and not isinstance(slides, bool):
            slides = [slides]
        if not isinstance(slides, list) or not slides or not all(isinstance(x, int) and x >= 1 for x in slides):
            raise f.where.error("slides", "must be a slide number or a list of them")
        self.slides = slides
        self.min_chars = f.int("min_chars", required=False, default=10, minimum=1)
        self.text = f.regex("text", required=False)

    def evaluate(self, doc):
        for n in self.slides:
            s = _slide(doc, n)
            if s is None:
                return _no_slide(n, doc)
            text = s.notes_slide.notes_text_frame.text.strip() if s.has_notes_slide and \
                s.notes_slide.notes_text_frame is not None else ""
            if len(re.sub(r"\s+", "", text)) < self.min_chars:
                return False, f"第 {n} 张幻灯片没有备注或备注太短", f"slide {n} has no speaker notes or they are too short"
            if self.text and not re.search(self.text, text):
                return False, f"第 {n} 张幻灯片的备注内容不符合要求", f"slide {n}'s notes do not say what is required"
        return True, "备注符合要求", "speaker notes as required"


@register
class FontSize(Rule):
    """``font_size``: every run of text on slide ``slide`` in shapes of ``shape`` (title | body | any)
    is at least ``min_pt`` and at most ``max_pt`` points. A run without its own size takes the
    size of its placeholder on the layout/master (python-pptx reads direct sizes only, so an
    inherited size counts as the layout's, which is looked up)."""

    kind, file_kind = "font_size", "pptx"

    def read(self, f):
        self.slide = f.int("slide", minimum=1)
        self.shape = f.choice("shape", ["title", "body", "any"], required=False, default="any")
        self.min_pt = f.num("min_pt", required=False, minimum=1)
        self.max_pt = f.num("max_pt", required=False, minimum=1)
        if self.min_pt is None and self.max_pt is None:
            raise f.where.error("min_pt", "give min_pt and/or max_pt")

    @staticmethod
    def _inherited(shape, level: int = 0) -> float | None:
        """Size inherited from the layout/master placeholder (its list style or first-level run
        properties), else from the master's text styles (title, body or other), in points."""
        try:
            ph_type = shape.placeholder_format.type
            ph_idx = shape.placeholder_format.idx
        except (ValueError, AttributeError):
            ph_type = ph_idx = None
        layout = shape.part.slide.slide_layout
        master = layout.slide_master
        lvl = f"lvl{level + 1}pPr"
        if ph_idx is not None:
            for src in (layout.placeholders, master.placeholders):
                for lp in src:
                    if lp.placeholder_format.idx == ph_idx or lp.placeholder_format.type == ph_type:
                        for el in lp._element.iter():
                            tag = el.tag if isinstance(el.tag, str) else ""
                            if tag.endswith("}defRPr") and el.get("sz") and el.getparent().tag.endswith(lvl):
                                return int(el.get("sz")) / 100
        from pptx.enum.shapes import PP_PLACEHOLDER

        if ph_type in (PP_PLACEHOLDER.TITLE, PP_PLACEHOLDER.CENTER_TITLE):
            style = "titleStyle"
        elif ph_idx is not None:
            style = "bodyStyle"
        else:
            style = "otherStyle"
        for el in master._element.iter():
            tag = el.tag if isinstance(el.tag, str) else ""
            if tag.endswith("}" + style):
                for d in el.iter():
                    if isinstance(d.tag, str) and d.tag.endswith("}defRPr") and d.get("sz") and \
                            d.getparent().tag.endswith(lvl):
                        return int(d.get("sz")) / 100
        return None

    def evaluate(self, doc):
        s = _slide(doc, self.slide)
        if s is None:
            return _no_slide(self.slide, doc)
        seen = 0
        for shape in s.shapes:
            if not shape.has_text_frame:
                continue
            is_title = shape.is_placeholder and shape == s.shapes.title
            if (self.shape == "title" and not is_title) or (self.shape == "body" and is_title):
                continue
            for p in shape.text_frame.paragraphs:
                for r in p.runs:
                    if not r.text.strip():
                        continue
                    size = r.font.size.pt if r.font.size is not None else self._inherited(shape, p.level)
                    if size is None:
                        size = 18.0
                    seen += 1
                    if (self.min_pt and size < self.min_pt) or (self.max_pt and size > self.max_pt):
                        return False, f"第 {self.slide} 张“{r.text.strip()[:12]}”的字号为 {size:g} 磅，不符合要求", \
                            f"slide {self.slide}: “{r.text.strip()[:12]}” is {size:g} pt, not as required"
        if not seen:
            return False, f"第 {self.slide} 张没有要检查的文字", f"slide {self.slide} has no text to check"
        return True, "字号符合要求", "font size as required"
