"""An assessment standard: areas, each with items (e.g. CSDS area A, item A1)."""
from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, JSON, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models import BilingualMixin, TimestampMixin
from app.extensions import db

LEVELS = ("basic", "intermediate", "advanced")


class Standard(BilingualMixin, TimestampMixin, db.Model):
    """A skills standard loaded from ``question_bank/standards/<code>.yaml``."""

    __tablename__ = "standard"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    version: Mapped[str] = mapped_column(String(40))
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    description_zh: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    attribution: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str] = mapped_column(String(64), default="")

    areas: Mapped[list["StandardArea"]] = relationship(
        back_populates="standard", order_by="StandardArea.position", cascade="all, delete-orphan"
    )


class StandardArea(BilingualMixin, db.Model):
    """An area of a standard (A 设备与系统 …)."""

    __tablename__ = "standard_area"
    __table_args__ = (UniqueConstraint("standard_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    standard_id: Mapped[int] = mapped_column(ForeignKey("standard.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(20))
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)

    standard: Mapped[Standard] = relationship(back_populates="areas")
    items: Mapped[list["StandardItem"]] = relationship(
        back_populates="area", order_by="StandardItem.position", cascade="all, delete-orphan"
    )


class StandardItem(BilingualMixin, db.Model):
    """One assessable item (A1 …) with its level and DigComp 2.2 competence codes."""

    __tablename__ = "standard_item"
    __table_args__ = (UniqueConstraint("standard_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    standard_id: Mapped[int] = mapped_column(ForeignKey("standard.id", ondelete="CASCADE"), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("standard_area.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(20))
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    description_zh: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    level: Mapped[str] = mapped_column(String(20))
    digcomp: Mapped[list] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)

    area: Mapped[StandardArea] = relationship(back_populates="items")
    standard: Mapped[Standard] = relationship()
