"""Departments and their closure table.

The closure table (``department_closure``) holds one row per (ancestor, descendant) pair,
including each department paired with itself at depth 0, so a subtree is one indexed join.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models import TimestampMixin
from app.core.time import utcnow
from app.core.types import UTCDateTime
from app.extensions import db


class Department(TimestampMixin, db.Model):
    """A unit of the organisation: city, bureau (委办局), division (处/科室) or section."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    parent: Mapped["Department | None"] = relationship(remote_side="Department.id", back_populates="children")
    children: Mapped[list["Department"]] = relationship(back_populates="parent", order_by="Department.sort_order")

    def __repr__(self) -> str:
        return f"<Department {self.code} {self.name}>"


class DepartmentClosure(db.Model):
    """Ancestor/descendant pairs of the department tree (depth 0 = the department itself)."""

    __tablename__ = "department_closure"

    ancestor_id: Mapped[int] = mapped_column(ForeignKey("department.id", ondelete="CASCADE"), primary_key=True)
    descendant_id: Mapped[int] = mapped_column(
        ForeignKey("department.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    depth: Mapped[int] = mapped_column(Integer)


class StaffTransfer(db.Model):
    """One move of a person between departments, kept as history (a staff import writes one per changed
    department). ``effective_at`` is aware UTC: from that instant the person counts in ``to_department``;
    before it in ``from_department`` (None for someone who had no department). ``source`` says what
    recorded it (``"import"`` or ``"admin"``)."""

    __tablename__ = "staff_transfer"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    from_department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    to_department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    effective_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(20), default="import")
