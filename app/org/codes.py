"""Sign-in codes handed out in the browser: who a viewer may issue codes for (scoped in the query),
issuing them, and the printable slips (PDF with reportlab, CSV).

Codes exist only in the response that hands them out: the database keeps their SHA-256 digests
(:mod:`app.auth.services`). Every issue is audited with the count and the people, never a code.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from app.audit.services import record
from app.auth.models import User
from app.auth.services import reset_and_issue_codes, sign_in_code_expiry
from app.core.time import to_local, utcnow
from app.extensions import db
from app.org.models import Department
from app.org.services import subtree_ids, visible_department_ids

MAX_CODES_PER_REQUEST = 5000
"""Most people one bulk request may issue codes for (a larger department is done in parts)."""


@dataclass
class Slip:
    """One printed slip: the person, their department path (root › … › department), the code and
    when it stops working (aware UTC)."""

    staff_number: str
    name: str
    department: str
    code: str
    expires_at: dt.datetime


def issuable_people(viewer: User, department_id: int | None = None, user_ids: list[int] | None = None):
    """SELECT of active users ``viewer`` may issue codes for: admins anyone, officers only people whose
    department is within their scopes (in the query). Optionally only the subtree of
    ``department_id`` and/or the given ``user_ids``. Ordered by staff number."""
    query = select(User).where(User.active.is_(True))
    if not viewer.is_admin:
        query = query.where(User.department_id.in_(visible_department_ids(viewer)))
    if department_id is not None:
        query = query.where(User.department_id.in_(subtree_ids([department_id])))
    if user_ids is not None:
        query = query.where(User.id.in_(user_ids))
    return query.order_by(User.staff_number)


def path_names() -> dict[int, str]:
    """``{department id: "root › … › name"}`` for every department (one query; the tree is small)."""
    rows = db.session.execute(select(Department.id, Department.parent_id, Department.name)).all()
    parents = {row.id: (row.parent_id, row.name) for row in rows}
    paths: dict[int, str] = {}

    def path(department_id: int, seen=()) -> str:
        if department_id in paths:
            return paths[department_id]
        parent_id, name = parents[department_id]
        text = name if parent_id is None or parent_id in seen or parent_id not in parents else (
            path(parent_id, seen + (department_id,)) + " › " + name)
        paths[department_id] = text
        return text

    for department_id in parents:
        path(department_id)
    return paths


def issue_codes(viewer: User, user_ids: list[int], *, source: str) -> list[Slip]:
    """Issue sign-in codes to those of ``user_ids`` that ``viewer`` may issue for (others are silently
    left out: the query is scoped), resetting their passwords (see
    :func:`app.auth.services.reset_and_issue_codes`). Returns slips ordered by staff number. Raises
    ValueError when none is left or more than MAX_CODES_PER_REQUEST are asked for. Audited as
    ``auth.code_issued`` (one event per person; ``source`` says from where). Flushes; caller commits."""
    if len(user_ids) > MAX_CODES_PER_REQUEST:
        raise ValueError(f"at most {MAX_CODES_PER_REQUEST} people at once")
    people = db.session.execute(
        issuable_people(viewer, user_ids=user_ids).with_only_columns(
            User.id, User.staff_number, User.name, User.department_id)).all()
    if not people:
        raise ValueError("nobody to issue codes for")
    had_password = set(db.session.execute(select(User.id).where(
        User.id.in_([p.id for p in people]), User.password_hash.is_not(None))).scalars())
    codes = reset_and_issue_codes([p.id for p in people], viewer)
    expires = sign_in_code_expiry(utcnow())
    for person in people:
        record(viewer.id, "auth.code_issued", f"user:{person.id}",
               {"staff_number": person.staff_number, "source": source, "password_reset": person.id in had_password})
    paths = path_names()
    return [Slip(p.staff_number, p.name, paths.get(p.department_id, "") if p.department_id else "", codes[p.id],
                 expires) for p in people]


# --- slips -----------------------------------------------------------------------------------------

def slips_csv(slips: list[Slip]) -> str:
    """CSV (UTF-8 with BOM, for Excel): staff number, name, department, code, expiry (local time),
    each cell escaped against spreadsheet formulas."""
    from app.audit.services import csv_cell

    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(["staff_number", "name", "department", "sign_in_code", "expires_at"])
    for slip in slips:
        writer.writerow([csv_cell(v) for v in (slip.staff_number, slip.name, slip.department, slip.code,
                                               to_local(slip.expires_at).strftime("%Y-%m-%d %H:%M"))])
    return out.getvalue()


SLIPS_PER_PAGE = 5


def slips_pdf(slips: list[Slip], *, sign_in_url: str, font_path: str | None = None) -> bytes:
    """A4 portrait PDF, five slips a page with dashed cut lines. Each slip: title, name, staff number,
    department path, the code (large), expiry in local time and the sign-in URL, in Chinese and
    English. Chinese is drawn with an embedded TrueType CJK font found by
    :func:`app.certification.pdf.find_cjk_font` (as certificates are), else reportlab's STSong-Light."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen.canvas import Canvas

    from app.certification.pdf import find_cjk_font

    path = find_cjk_font(font_path)
    if path:
        font = f"SlipCJK-{abs(hash(path))}"
        if font not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(font, path, subfontIndex=0))
    else:
        font = "STSong-Light"
        if font not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(font))
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1)
    canvas.setTitle(_("Sign-in codes"))
    width, height = A4
    slip_height = height / SLIPS_PER_PAGE
    left, text_width = 18 * mm, width - 36 * mm

    def fitted(text: str, size: float, minimum: float = 6) -> float:
        while size > minimum and pdfmetrics.stringWidth(text, font, size) > text_width:
            size -= 0.5
        return size

    for index, slip in enumerate(slips):
        position = index % SLIPS_PER_PAGE
        if index and position == 0:
            canvas.showPage()
        top = height - position * slip_height
        canvas.setDash(3, 3)
        canvas.setLineWidth(0.4)
        if position:
            canvas.line(8 * mm, top, width - 8 * mm, top)
        canvas.setDash()
        y = top - 12 * mm
        lines = [
            (_("CivicSkills sign-in code"), 11),
            (_("%(name)s · staff number %(number)s", name=slip.name, number=slip.staff_number), 12),
            (_("Department: %(path)s", path=slip.department or "—"), 10),
        ]
        for text, size in lines:
            canvas.setFont(font, fitted(text, size))
            canvas.drawString(left, y, text)
            y -= size * 1.6
        canvas.setFont("Courier-Bold", 20)
        canvas.drawString(left, y - 4 * mm, slip.code)
        y -= 12 * mm
        expiry = to_local(slip.expires_at).strftime("%Y-%m-%d %H:%M")
        for text in (_("Works once, until %(time)s.", time=expiry),
                     _("Sign in at %(url)s with your staff number and this code, then choose your own password.",
                       url=sign_in_url)):
            canvas.setFont(font, fitted(text, 9))
            canvas.drawString(left, y, text)
            y -= 9 * 1.6
    if not slips:
        canvas.setFont(font, 12)
        canvas.drawString(left, height - 30 * mm, "—")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
