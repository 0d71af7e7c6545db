"""Markdown/HTML to safe HTML: markdown-it-py renders (raw HTML off), nh3 sanitises with an allow-list."""
from __future__ import annotations

import html
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "b", "i", "u", "code", "pre", "blockquote", "ul", "ol", "li",
    "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "hr", "a", "span", "sub", "sup",
    "kbd",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}, "ol": {"start"}}


def sanitize_html(raw: str) -> str:
    """Keep only allow-listed tags and attributes; links get rel="noopener noreferrer"."""
    return nh3.clean(raw, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes={"http", "https", "mailto"})


def render_markdown(text: str) -> str:
    """CommonMark (with tables) to sanitised HTML; raw HTML in the source is escaped, never passed through."""
    return sanitize_html(_md.render(text or ""))


# Question stems and options are short and rendered again on every exam page of every candidate:
# texts up to this many characters are memoised (a pure function of text and format). At most
# 4,096 entries of ≤ 1,000 characters in and their HTML out: a few MB per process at worst.
_MEMO_MAX_CHARS = 1000


def render_text(text: str, text_format: str) -> str:
    """Render question text by its GIFT format: markdown, html (sanitised), plain or moodle (escaped,
    line breaks kept). Texts of up to 1,000 characters come from an in-process LRU memo."""
    if text and len(text) <= _MEMO_MAX_CHARS:
        return _render_text_memo(text, text_format)
    return _render_text(text, text_format)


@lru_cache(maxsize=4096)
def _render_text_memo(text: str, text_format: str) -> str:
    return _render_text(text, text_format)


def _render_text(text: str, text_format: str) -> str:
    if text_format == "markdown":
        return render_markdown(text)
    if text_format == "html":
        return sanitize_html(text)
    return html.escape(text or "").replace("\n", "<br>")
