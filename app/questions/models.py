"""Question bank: a question is a stable identity; each content change makes a new version.

Attempts point at the version they showed, so editing a question never changes a past attempt.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Integer, JSON, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.types import UTCDateTime
from app.core.time import utcnow
from app.extensions import db

DIFFICULTIES = ("easy", "medium", "hard")


class Question(db.Model):
    """A question's identity: key (``[id:...]`` or a content hash), standard item, difficulty."""

    __tablename__ = "question"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    category: Mapped[str] = mapped_column(String(255), default="")
    standard_item_id: Mapped[int | None] = mapped_column(ForeignKey("standard_item.id"), index=True)
    difficulty: Mapped[str | None] = mapped_column(String(10))
    qtype: Mapped[str] = mapped_column(String(30))
    source: Mapped[str] = mapped_column(String(255), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("question_version.id", use_alter=True, name="fk_question_current_version_id_question_version")
    )

    standard_item = relationship("StandardItem")
    current_version: Mapped["QuestionVersion | None"] = relationship(foreign_keys=[current_version_id], post_update=True)
    versions: Mapped[list["QuestionVersion"]] = relationship(
        back_populates="question", foreign_keys="QuestionVersion.question_id", order_by="QuestionVersion.version"
    )


class QuestionVersion(db.Model):
    """One immutable version of a question's content.

    ``spec`` is the type's JSON (see :mod:`app.questions.types`), including the key.
    """

    __tablename__ = "question_version"
    __table_args__ = (UniqueConstraint("question_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    qtype: Mapped[str] = mapped_column(String(30))
    stem: Mapped[str] = mapped_column(Text)
    stem_format: Mapped[str] = mapped_column(String(20), default="markdown")
    spec: Mapped[dict] = mapped_column(JSON)
    general_feedback: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    question: Mapped[Question] = relationship(back_populates="versions", foreign_keys=[question_id])


class StagedUpload(db.Model):
    """A bank file that passed its dry run and waits for the examiner's confirmation.

    Kept in the database (not on one web node's disk) so the confirm request may reach any node;
    rows older than :data:`STAGED_UPLOAD_SECONDS` are deleted when the next file is staged.
    ``token``: 32 hex characters, the confirm form's only reference; ``data``: the file's bytes.
    """

    __tablename__ = "staged_upload"

    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    fmt: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(200))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


#: How long a staged upload waits for confirmation (seconds).
STAGED_UPLOAD_SECONDS = 24 * 3600
