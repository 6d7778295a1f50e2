"""Search text (检索文本): the words of each evidence version, extracted by the worker and segmented."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, String, text
from sqlalchemy import Text as SAText
from sqlmodel import Field, SQLModel

from app.models._base import created_at_field


class TextStatus(StrEnum):
    pending = "pending"  # not read yet: the worker has not come to it
    done = "done"
    no_text = "no_text"  # a kind of file without words to read (images, video, archives)
    no_text_layer = "no_text_layer"  # 无文本层: a PDF or OFD whose pages carry no text (a scan)
    failed = "failed"  # the file could not be read (damaged, or a format we do not open)


# The table behind search on each backend: a GIN index over to_tsvector('simple', segmented) on
# PostgreSQL and an FTS5 table kept by triggers on SQLite, both made by migration 0008c only.
FTS_TABLE = "evidencetext_fts"
GIN_INDEX = "ix_evidencetext_segmented_tsv"


class EvidenceText(SQLModel, table=True):
    """The words of one evidence version: title, statement or address, and the text inside its file."""

    __table_args__ = (
        Index(GIN_INDEX, text("to_tsvector('simple', segmented)"), postgresql_using="gin").ddl_if(dialect="postgresql"),
    )
    version_id: int = Field(primary_key=True, foreign_key="evidenceversion.id")
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    status: str = Field(sa_type=String(16))
    plain: str = Field(sa_column=Column(SAText, nullable=False))  # what the snippet is cut from
    segmented: str = Field(sa_column=Column(SAText, nullable=False))  # jieba's words, separated by spaces
    error: str | None = Field(default=None, max_length=500)
    extracted_at: datetime = created_at_field()


def outside_metadata(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic's include_object: False for the FTS5 table and its shadow tables, which only migrations make."""
    return not (type_ == "table" and reflected and (name or "").startswith(FTS_TABLE))
