"""Exports of the dashboard for one plan, as-of date and the viewer's scope: XLSX, CSV and a PDF summary.

* XLSX (openpyxl, via :func:`app.exams.results.to_xlsx`): one sheet per tree level (city, bureaus,
  divisions, sections, …; bold frozen header), a "Skills map" sheet (department × item, cells under
  :data:`app.rollout.skills.MIN_PEOPLE` people blank) and a "Definitions" sheet.
* CSV of a department's drill-down (UTF-8 with BOM); every text cell that starts with = + - @, tab or
  CR gets a leading apostrophe (:func:`app.exams.results.safe_cell`, OWASP CSV injection).
* PDF (reportlab, A4 portrait, one page): the figures, the trend chart drawn with reportlab graphics,
  the forecast and the departments behind or projected to miss the next milestone. Chinese in the CJK
  font the certificate uses (:func:`app.certification.pdf.find_cjk_font`, embedded as a subset), else
  the built-in STSong-Light.
All content is computed by the same services as the pages, scoped to the viewer in the queries.
"""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

from flask import current_app
from flask_babel import gettext
from sqlalchemy import select

from app.auth.models import User
from app.exams.results import to_csv, to_xlsx
from app.extensions import db
from app.rollout import services
from app.rollout.models import RolloutPlan
from app.rollout.skills import MIN_PEOPLE, skills_map

def _(text: str, **variables) -> str:
    """gettext that always %-formats, as templates do (so ``%%`` is ``%`` with or without variables)."""
    return gettext(text) % variables


NO_VALUE = "—"  # a figure that does not exist for the plan (a courses-only plan's pass rate), as on the dashboard
MAX_CSV_ROWS = 200_000
CSV_PAGE = 5_000


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def level_name(depth: int) -> str:
    """Sheet title for departments at tree depth ``depth`` (0 = the city)."""
    names = {0: _("City"), 1: _("Bureaus"), 2: _("Divisions"), 3: _("Sections")}
    return names.get(depth) or _("Level %(n)s", n=depth + 1)


def status_label(status: str) -> str:
    """The status word shown on the dashboard."""
    return {services.ON_TRACK: _("On track"), services.BEHIND: _("Behind"), services.AT_RISK: _("At risk")}[status]


def done_word(plan: RolloutPlan | None) -> str:
    """What meeting the plan's requirement is called: "Certified" (已取证), or "Completed" (已完成) for a
    plan requiring courses only (no certification: ``plan_conditions``' certified = every course done)."""
    return _("Completed") if plan is not None and plan.certification_id is None else _("Certified")


def person_status_labels(plan: RolloutPlan | None) -> dict[str, str]:
    """The drill-down's words for :data:`app.rollout.services.STATUS_FILTERS` (the filter) and for a
    person's status (``started``), in the words of :func:`done_word`: the page, its CSV and the filter."""
    certification = plan is None or plan.certification_id is not None
    return {"unfinished": _("Not certified") if certification else _("Not completed"),
            "not_started": _("Not started"),
            "in_progress": _("Started, not certified") if certification else _("Started, not completed"),
            "certified": done_word(plan), "all": _("Everyone"), "started": _("Started")}


def person_status(labels: dict[str, str], row: dict) -> str:
    """One drill-down row's status word (``labels`` from :func:`person_status_labels`)."""
    return labels["certified"] if row["certified"] else labels["started"] if row["started"] else labels["not_started"]


def definitions(quota: Decimal, plan: RolloutPlan | None = None) -> list[list[str]]:
    """``[term, definition]`` rows: the dashboard's definitions, the skills map's and the forecast's
    (for a plan without a certification, "Certified" means every required course completed and the
    pass rate is explained as absent)."""
    tolerance = int(current_app.config.get("ROLLOUT_BEHIND_TOLERANCE", 10))
    rows = [
        [_("Eligible"), _("Active staff in the plan's departments (including all units below them) who had joined by the date shown, minus exemptions recorded by then.")],
        [_("Started"), _("Eligible staff who opened a lesson of a required course or started its exam. Participation = started ÷ eligible.")],
        [_("Certified"), _("Eligible staff holding a valid certificate of the plan's certification on the date shown. Completion = certified ÷ eligible.")],
        [_("Pass rate"), _("Staff who passed the required exam ÷ staff who finished at least one attempt.")],
        [_("Credit hours met"), _("Eligible staff credited with at least %(quota)s credit hours (学时) in the calendar year up to the date shown ÷ eligible.", quota=round(float(quota), 1))],
        [_("Target today"), _("The share that should be certified by this date: rising in a straight line from 0 %% at the plan's start to each milestone's target.")],
        [_("Gap"), _("Completion minus target, in percentage points. Negative means behind.")],
        [_("Status"), _("On track: at or above target. Behind: less than %(tol)s points below. At risk: %(tol)s points or more below.", tol=tolerance)],
        [_("Skills map"), skills_definition()],
        [_("Forecast"), forecast_definition()],
        [_("As of"), _("Every figure counts only what had happened by the end of the chosen day, each person in the department they belonged to then (a transfer counts from its effective date) and leavers until the day they left.")],
    ]
    if plan is not None and plan.certification_id is None:
        rows[2] = [_("Completed"), _("Eligible staff who had completed every required course by the date shown. Completion = completed ÷ eligible.")]
        rows[3] = [_("Pass rate"), _("This plan requires no certification, so it has no pass rate (—).")]
    return rows


def skills_definition() -> str:
    """The skills map's definition in the user's language."""
    return _("Points earned on the questions of a standard item ÷ the points those questions were worth, over each eligible person's best finished exam attempt by the end of the chosen day. Cells with fewer than %(n)s people are hidden.", n=MIN_PEOPLE)


def forecast_definition() -> str:
    """The forecast's method in the user's language."""
    return _("A straight line fitted by least squares through the daily completion rate of the last 28 days (the recorded daily figures and the chosen day). Its value at the next milestone is the projected rate; where it reaches 100 %% is the projected completion date.")


def figure_headers(plan: RolloutPlan | None = None) -> list[str]:
    """Column headings of a level sheet ("Completed" instead of "Certified" for a courses-only plan)."""
    return [_("Code"), _("Department"), _("Path"), _("Eligible"), _("Started"), done_word(plan), _("Completion (%%)"),
            _("Participation (%%)"), _("Pass rate (%%)"), _("Credit hours met (%%)"), _("Target today (%%)"), _("Gap"),
            _("Status"), _("Not finished")]


def _paths(ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    paths = services.department_paths().alias("paths")
    return dict(db.session.execute(select(paths.c.id, paths.c.path).where(paths.c.id.in_(ids))).all())


def workbook(plan: RolloutPlan, viewer: User, as_of: dt.date) -> bytes:
    """The XLSX export (see the module docstring) for ``viewer``'s departments as of ``as_of``."""
    rows = services.flatten(services.department_figures(plan, viewer, as_of))
    paths = _paths([r.department.id for r in rows])
    by_depth: dict[int, list[list]] = {}
    for r in rows:
        # a plan without certification has no pass rate: "—" as on the dashboard and in the PDF (text cell)
        pass_rate = _num(r.pass_rate) if r.has_pass_rate else NO_VALUE
        by_depth.setdefault(r.department.depth, []).append([
            r.department.code, r.department.name, paths.get(r.department.id, r.department.name), r.eligible,
            r.started, r.certified, _num(r.completion), _num(r.participation), pass_rate, _num(r.hours_rate),
            _num(r.target), _num(r.gap), status_label(r.status), r.not_finished])
    headers = figure_headers(plan)
    sheets = [(level_name(depth), headers, by_depth[depth]) for depth in sorted(by_depth)]
    if not sheets:
        sheets = [(level_name(0), headers, [])]
    skills = skills_map(plan, viewer, as_of)
    skill_rows = []
    for row in skills.rows:
        for item in skills.items:
            cell = row.cells.get(item.id)
            if cell is None:
                continue
            shown = not cell.hidden
            skill_rows.append([row.department.code, row.department.name, item.code, item.tr("title"), cell.people,
                               _num(cell.earned) if shown else None, _num(cell.possible) if shown else None,
                               _num(cell.share), "" if shown else _("hidden: fewer than %(n)s people", n=MIN_PEOPLE)])
    sheets.append((_("Skills map"), [_("Code"), _("Department"), _("Item code"), _("Standard item"), _("Number of people"),
                                     _("Points earned"), _("Points possible"), _("Share (%%)"), _("Note")], skill_rows))
    about = [[_("Plan"), plan.tr("name")], [_("As of"), as_of.isoformat()],
             [_("Exported by"), f"{viewer.name} ({viewer.staff_number})"]]
    sheets.append((_("Definitions"), [_("Term"), _("Definition")], about + definitions(services.annual_quota(), plan)))
    return to_xlsx(sheets)


def drill_down_csv(plan: RolloutPlan, viewer: User, department_id: int, as_of: dt.date, **filters) -> bytes:
    """CSV of every person of the drill-down (same filters and sorting as the page, all pages) in the
    department's subtree, scoped to ``viewer``; formula-like text is escaped (module docstring)."""
    headers = [_("Staff number"), _("Name"), _("Department"), _("Position"), _("Status"), _("Lessons done"),
               _("Exam attempts"), _("Best score"), _("Due date"), _("Overdue"), _("All exam attempts used")]
    out, page = [], 1
    labels = person_status_labels(plan)
    while len(out) < MAX_CSV_ROWS:
        result = services.drill_down(plan, viewer, department_id, as_of, page=page, per_page=CSV_PAGE, **filters)
        for r in result.rows:
            status = person_status(labels, r)
            out.append([r["user"].staff_number, r["user"].name, r["path"], r["user"].position or "", status,
                        r["lessons_done"], r["attempts"], _num(r["best_score"]),
                        r["due_on"].isoformat() if r["due_on"] else "", _("Yes") if r["overdue"] else "",
                        _("Yes") if r["exhausted"] else ""])
        if page >= result.pages:
            break
        page += 1
    return to_csv(headers, out)


# --------------------------------------------------------------------------- PDF summary
def _font() -> str:
    """Register and return the CJK font name (embedded TrueType when found, else STSong-Light)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    from app.certification.pdf import CID_FONT, find_cjk_font

    path = find_cjk_font(current_app.config.get("CERTIFICATE_FONT_PATH") or None)
    if path:
        name = f"SummaryCJK-{abs(hash(path))}"
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(name, path, subfontIndex=0))
        return name
    if CID_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
    return CID_FONT


def _fit(text: str, font: str, size: float, width: float) -> str:
    """``text`` cut (with …) to fit ``width`` points."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Break ``text`` into lines of at most ``width`` points (by character: works for Chinese and English)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines, line = [], ""
    for ch in text:
        if stringWidth(line + ch, font, size) > width and line:
            cut = line.rfind(" ")
            if cut > len(line) // 2:
                lines.append(line[:cut])
                line = line[cut + 1:]
            else:
                lines.append(line)
                line = ""
        line += ch
    if line:
        lines.append(line)
    return lines


def trend_drawing(plan: RolloutPlan, points, result, font: str, width: float, height: float, wave=None):
    """The trend chart as a reportlab ``Drawing`` (same lines as the page's SVG: completion, target,
    forecast), ``width`` × ``height`` points. ``wave``: the wave whose own milestones the scope follows
    (:attr:`app.rollout.services.ScopeTargets.wave`), else None: the plan's."""
    from reportlab.graphics.shapes import Circle, Drawing, Line, PolyLine, String
    from reportlab.lib import colors

    from app.rollout.chart import date_ticks, target_line

    left, bottom, top, right = 34, 20, 8, 8
    days = [p.day for p in points]
    first = min([plan.starts_on, *days])
    last = max([plan.ends_on, *days])
    span = max(1, (last - first).days)
    pw, ph = width - left - right, height - bottom - top

    def x(day):
        return left + pw * (day - first).days / span

    def y(value):
        return bottom + ph * float(value) / 100

    d = Drawing(width, height)
    grey, blue, orange = colors.HexColor("#777777"), colors.HexColor("#1f5fa8"), colors.HexColor("#c0580a")
    for value in (0, 25, 50, 75, 100):
        d.add(Line(left, y(value), left + pw, y(value), strokeColor=colors.HexColor("#dddddd"), strokeWidth=0.5))
        d.add(String(left - 3, y(value) - 3, f"{value}%", fontName=font, fontSize=7, textAnchor="end"))
    milestones = services.milestones_for(plan, wave)
    for px, anchor, text in date_ticks(sorted({first, *(m.due_on for m in milestones), last}), x, left, left + pw, 7):
        d.add(String(px, 6, text, fontName=font, fontSize=7, textAnchor=anchor))
    corners = [(x(day), y(v)) for day, v in target_line(plan, wave)]
    d.add(PolyLine([c for pt in corners for c in pt], strokeColor=grey, strokeWidth=1.2, strokeDashArray=[2, 2]))
    for m in milestones:
        d.add(Circle(x(m.due_on), y(m.target_percent), 2.5, fillColor=grey, strokeColor=grey))
    if points:
        d.add(PolyLine([c for p in points for c in (x(p.day), y(p.rate))], strokeColor=blue, strokeWidth=1.8))
    if result is not None and result.available:
        end = result.milestone.due_on if result.milestone is not None else last
        if end > result.as_of:
            start_value = result.current if result.current is not None else result.projected(result.as_of)
            d.add(Line(x(result.as_of), y(start_value), x(end), y(result.projected(end)), strokeColor=orange,
                       strokeWidth=1.2, strokeDashArray=[4, 3]))
    return d


def summary_pdf(plan: RolloutPlan, viewer: User, as_of: dt.date, *, scope: str, points, result, missing,
                rows, targets: services.ScopeTargets | None = None) -> bytes:
    """The one-page A4 summary for leadership: title, figures of the viewer's top departments, the
    trend chart, the forecast, and the departments behind target and projected to miss the next
    milestone (as many as fit). ``points``/``result``/``missing``/``rows`` are what the dashboard shows;
    ``targets`` (:func:`app.rollout.services.scope_targets`, default the plan's) gives the milestones
    listed, the target and the chart's target line: a wave's when the whole scope is in one, else the
    plan's with a note when some departments follow their wave's."""
    from reportlab.graphics import renderPDF
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    font = _font()
    buffer = io.BytesIO()
    c = Canvas(buffer, pagesize=A4)
    c.setTitle(_("Rollout summary") + " · " + plan.tr("name"))
    width, height = A4
    margin = 42
    text_w = width - 2 * margin
    yy = height - margin

    def line(text, size=10, gap=4, colour=colors.black, indent=0):
        nonlocal yy
        for part in _wrap(text, font, size, text_w - indent):
            if yy < margin + size:
                return
            c.setFillColor(colour)
            c.setFont(font, size)
            c.drawString(margin + indent, yy - size, part)
            yy -= size + gap

    line(_("Rollout summary") + " · " + plan.tr("name"), size=16, gap=6)
    line(_("As of %(date)s · %(scope)s · requirement: %(cert)s", date=as_of.isoformat(), scope=scope,
           cert=plan.requirement_text()), size=9, colour=colors.HexColor("#444444"))
    targets = targets or services.ScopeTargets(plan)
    milestones = "、".join(f"{m.due_on.isoformat()} → {float(m.target_percent):.0f} %" for m in targets.milestones)
    if targets.wave is not None:
        line(_("Milestones (wave %(wave)s): %(list)s", wave=targets.wave.name, list=milestones or "—"), size=9,
             gap=8, colour=colors.HexColor("#444444"))
    else:
        line(_("Milestones: %(list)s", list=milestones or "—"), size=9, gap=8, colour=colors.HexColor("#444444"))
    roots = [r for r in rows if r.level == 0]
    total = services.DepartmentFigures(department=None, level=0, eligible=sum(r.eligible for r in roots),
                                       started=sum(r.started for r in roots), certified=sum(r.certified for r in roots),
                                       sat=sum(r.sat for r in roots), passed=sum(r.passed for r in roots),
                                       hours_met=sum(r.hours_met for r in roots),
                                       target=targets.target(as_of),
                                       has_pass_rate=plan.certification_id is not None)

    def pct(v):
        return "—" if v is None else f"{float(v):.1f} %"

    figures = [(_("Eligible"), str(total.eligible)), (_("Started"), f"{total.started} ({pct(total.participation)})"),
               (done_word(plan), str(total.certified)), (_("Completion"), pct(total.completion)),
               (_("Target today"), pct(total.target)),
               (_("Gap"), "—" if total.gap is None else f"{float(total.gap):+.1f}"),
               (_("Pass rate"), pct(total.pass_rate)), (_("Credit hours met"), pct(total.hours_rate))]
    col_w = text_w / 4
    for i, (label, value) in enumerate(figures):
        cx = margin + (i % 4) * col_w
        cy = yy - (i // 4) * 34
        c.setFillColor(colors.HexColor("#555555"))
        c.setFont(font, 8)
        c.drawString(cx, cy - 8, _fit(label, font, 8, col_w - 6))
        c.setFillColor(colors.black)
        c.setFont(font, 14)
        c.drawString(cx, cy - 26, value)
    yy -= 2 * 34 + 8
    chart_h = 190
    renderPDF.draw(trend_drawing(plan, points, result, font, text_w, chart_h, targets.wave), c, margin, yy - chart_h)
    yy -= chart_h + 6
    line(_("Blue: completion · grey dashed: target (milestones) · orange dashed: forecast"), size=8,
         colour=colors.HexColor("#555555"))
    if targets.mixed:
        line(_("Target line: the plan's milestones; waves have their own: see each department."), size=8,
             colour=colors.HexColor("#555555"))
    if result is not None and result.available:
        sentence = _("Pace over the last 28 days: %(pace)s percentage points a week.", pace=f"{result.slope_per_week:+.1f}")
        if result.milestone is not None:
            sentence += " " + _("Projected at %(date)s: %(value)s (target %(target)s).", date=result.milestone.due_on.isoformat(),
                                value=pct(result.at_milestone), target=f"{float(result.milestone.target_percent):.0f} %")
        sentence += " " + (_("Projected to reach 100 %% on %(date)s.", date=result.full_on.isoformat()) if result.full_on
                           else _("At this pace 100 %% is not reached."))
        line(sentence, size=10, gap=3)
    else:
        line(_("Not enough daily figures for a forecast yet (at least two days in the last 28 are needed)."), size=10)
    line(forecast_definition(), size=7, gap=8, colour=colors.HexColor("#555555"))
    behind = sorted([r for r in rows if r.gap is not None and r.gap < 0], key=lambda r: (r.gap, r.department.code))
    if missing:
        line(_("Projected to miss the next milestone"), size=12, gap=4)
        for d in missing[:8]:
            line(_fit(f"{d.department.name}: {pct(d.current)} → {pct(d.projected)} / {float(d.target):.0f} %",
                      font, 9, text_w - 10), size=9, gap=2, indent=10)
        if len(missing) > 8:
            line(_("… and %(n)s more (see the XLSX export).", n=len(missing) - 8), size=8, indent=10)
        yy -= 4
    line(_("Departments behind target"), size=12, gap=4)
    if not behind:
        line(_("None: every department is at or above its target."), size=9, indent=10)
    for r in behind:
        if yy < margin + 24:
            line(_("… and more (see the XLSX export)."), size=8, indent=10)
            break
        line(_fit(f"{r.department.name}: {pct(r.completion)} / {pct(r.target)} ({float(r.gap):+.1f}) · "
                  f"{status_label(r.status)} · " + _("%(n)s not finished", n=r.not_finished), font, 9, text_w - 10),
             size=9, gap=2, indent=10)
    c.showPage()
    c.save()
    return buffer.getvalue()
