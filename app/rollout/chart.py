"""The completion trend as an inline SVG drawn on the server (no script, no chart library, no CDN).

:func:`trend_svg` returns markup for ``<svg viewBox=…>`` that scales to its box (width 100 %), with a
``<title>`` and ``<desc>`` (named by ``aria-labelledby``) saying what it shows in words; the page adds a
data table as the text alternative. Every text is escaped; colours are presentation attributes (the
CSP forbids inline styles).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from babel.dates import format_skeleton
from flask_babel import _, get_locale
from markupsafe import Markup, escape

from app.rollout.models import RolloutPlan
from app.rollout.services import milestones_for, target_percent
from app.rollout.trend import Forecast, TrendPoint

WIDTH, HEIGHT = 480, 270
LEFT, RIGHT, TOP, BOTTOM = 46, 12, 14, 58  # margins inside the viewBox (axis labels, legend)
ACTUAL, TARGET, PROJECTED = "#1f5fa8", "#777777", "#c0580a"


def short_date(day: dt.date) -> str:
    """Month and day in the user's language (``10月1日`` / ``Oct 1``)."""
    return format_skeleton("MMMd", day, locale=get_locale() or "zh_CN")


def date_ticks(days, x, lo: float, hi: float, font_size: float) -> list[tuple[float, str, str]]:
    """The date labels of a chart's axis that fit: ``[(position, anchor, text)]`` for ``days`` (sorted
    dates) at ``x(day)`` between ``lo`` and ``hi`` (same units as ``font_size``: px in the SVG, points
    in the PDF). A label near an end is anchored to it (``start`` / ``end``), others are centred; a
    label that would touch the last one placed (4 units apart at least) is left out, its tick mark
    stays. Widths are estimated: a CJK character ``font_size`` wide, any other 0.55 × ``font_size``
    (``12月31日`` is twice as wide as ``Dec 31``)."""
    placed: list[tuple[float, str, str]] = []
    right_edge = float("-inf")
    for day in days:
        px, text = x(day), short_date(day)
        width = sum(font_size if ord(ch) >= 0x2E80 else 0.55 * font_size for ch in text)
        anchor = "start" if px < lo + 20 else ("end" if px > hi - 20 else "middle")
        left = px if anchor == "start" else px - width if anchor == "end" else px - width / 2
        if left < right_edge + 4:
            continue
        placed.append((px, anchor, text))
        right_edge = left + width
    return placed


def target_line(plan: RolloutPlan, wave=None) -> list[tuple[dt.date, Decimal]]:
    """Corners of the target line: plan start at 0 %, each milestone's target at its date (the line of
    :func:`app.rollout.services.target_percent` is straight between them), held to the plan's end. With
    a ``wave`` that has its own milestones (a department inside it), the wave's start and milestones."""
    start = wave.starts_on if wave is not None and wave.milestones else plan.starts_on
    corners = [(start, Decimal(0))] + [(m.due_on, Decimal(m.target_percent)) for m in milestones_for(plan, wave)]
    if corners[-1][0] < plan.ends_on:
        corners.append((plan.ends_on, target_percent(plan, plan.ends_on, wave)))
    return corners


def trend_svg(plan: RolloutPlan, points: list[TrendPoint], result: Forecast | None, *, scope: str,
              element_id: str = "trend", wave=None) -> Markup:
    """SVG markup of completion (percent 0–100) by local day against the plan's target line, with the
    forecast as a dashed line from the as-of date to the next milestone (or the plan's end).

    ``points``: the days to draw (:func:`app.rollout.trend.trend_series`); ``scope``: the name of what
    is shown (for the title); ``element_id`` prefixes the ids used by ``aria-labelledby``; ``wave``: the
    wave whose milestones a single department follows (:meth:`app.rollout.services.PlanTargets.wave`).
    """
    first = plan.starts_on
    last_points = [p.day for p in points]
    last = max([plan.ends_on, *last_points]) if last_points else plan.ends_on
    first = min([first, *last_points]) if last_points else first
    span = max(1, (last - first).days)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day: dt.date) -> float:
        return round(LEFT + plot_w * (day - first).days / span, 1)

    def y(value: float | Decimal) -> float:
        return round(TOP + plot_h * (1 - float(value) / 100), 1)

    title = _("Completion over time: %(scope)s", scope=scope)
    if points:
        now = points[-1]
        desc = _("Completion went from %(first)s on %(d1)s to %(last)s on %(d2)s; target on %(d2)s: %(target)s.",
                 first=f"{float(points[0].rate):.1f} %", d1=short_date(points[0].day),
                 last=f"{float(now.rate):.1f} %", d2=short_date(now.day), target=f"{float(now.target):.1f} %")
    else:
        desc = _("No daily figures have been recorded for this plan yet.")
    if result is not None and result.available and result.milestone is not None:
        desc += " " + _("At the recent pace: %(value)s by %(date)s (target %(target)s).",
                        value=f"{float(result.at_milestone):.1f} %", date=short_date(result.milestone.due_on),
                        target=f"{float(result.milestone.target_percent):.0f} %")
    out = [f'<svg class="trend-chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
           f'aria-labelledby="{element_id}-title {element_id}-desc" xmlns="http://www.w3.org/2000/svg" '
           f'font-family="sans-serif" font-size="12">',
           f'<title id="{element_id}-title">{escape(title)}</title>',
           f'<desc id="{element_id}-desc">{escape(desc)}</desc>']
    # grid and the percent axis
    for value in (0, 25, 50, 75, 100):
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value)}" y2="{y(value)}" stroke="#dddddd"/>')
        out.append(f'<text x="{LEFT - 4}" y="{y(value) + 4}" text-anchor="end" fill="#444444">{value}%</text>')
    # date ticks: start, each milestone, end (labels skipped where they would overlap)
    ticks = sorted({first, *(m.due_on for m in milestones_for(plan, wave)), last})
    for day in ticks:
        px = x(day)
        out.append(f'<line x1="{px}" x2="{px}" y1="{TOP + plot_h}" y2="{TOP + plot_h + 4}" stroke="#444444"/>')
    for px, anchor, text in date_ticks(ticks, x, LEFT, WIDTH - RIGHT, 12):
        out.append(f'<text x="{px}" y="{TOP + plot_h + 17}" text-anchor="{anchor}" fill="#444444">'
                   f'{escape(text)}</text>')
    out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" stroke="#444444"/>')
    # target line and milestone markers
    corners = " ".join(f"{x(d)},{y(v)}" for d, v in target_line(plan, wave))
    out.append(f'<polyline points="{corners}" fill="none" stroke="{TARGET}" stroke-width="2" stroke-dasharray="2 3"/>')
    for m in milestones_for(plan, wave):
        out.append(f'<circle cx="{x(m.due_on)}" cy="{y(m.target_percent)}" r="4" fill="{TARGET}"/>')
    # actual completion
    if points:
        line = " ".join(f"{x(p.day)},{y(p.rate)}" for p in points)
        out.append(f'<polyline points="{line}" fill="none" stroke="{ACTUAL}" stroke-width="2.5"/>')
        out.append(f'<circle cx="{x(points[-1].day)}" cy="{y(points[-1].rate)}" r="4" fill="{ACTUAL}"/>')
    # forecast
    if result is not None and result.available:
        end = result.milestone.due_on if result.milestone is not None else last
        if end > result.as_of:
            start_value = result.current if result.current is not None else result.projected(result.as_of)
            out.append(f'<line x1="{x(result.as_of)}" y1="{y(start_value)}" x2="{x(end)}" '
                       f'y2="{y(result.projected(end))}" stroke="{PROJECTED}" stroke-width="2" stroke-dasharray="6 4"/>')
    # legend
    ly = HEIGHT - 14
    legend = [(ACTUAL, "", _("Completion")), (TARGET, "2 3", _("Target (milestones)")),
              (PROJECTED, "6 4", _("Forecast"))]
    lx = LEFT
    for colour, dash, label in legend:
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<line x1="{lx}" x2="{lx + 22}" y1="{ly - 4}" y2="{ly - 4}" stroke="{colour}" stroke-width="2.5"{dash_attr}/>')
        out.append(f'<text x="{lx + 26}" y="{ly}" fill="#222222">{escape(label)}</text>')
        lx += 34 + 12 * max(len(label), 4) * (1 if any(ord(ch) > 0x2E80 for ch in label) else 0.55)
    out.append("</svg>")
    return Markup("".join(out))  # nosec B704 - every text is escape()d; the rest is numbers and fixed markup
