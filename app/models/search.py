"""Search text (检索文本): the words of each evidence version, extracted by the worker and segmented."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, String
from sqlalchemy import Text as SAText
from sqlmodel import Field, SQLModel

from app.models._base import created_at_field
from app.models.evidence import EvidenceKind, EvidenceStatus, TextStatus

# What search reads on each backend, made by migration 0008c only (no table model can say it for both):
# on PostgreSQL a stored column tsv = to_tsvector('simple', segmented) with a GIN index, on SQLite an
# FTS5 table kept by triggers.
FTS_TABLE = "evidencetext_fts"
TSV_COLUMN = "tsv"
GIN_INDEX = "ix_evidencetext_tsv"


class EvidenceText(SQLModel, table=True):
    """The words of one evidence version: title, statement or address, and the text inside its file."""

    version_id: int = Field(primary_key=True, foreign_key="evidenceversion.id")
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    status: str = Field(sa_type=String(16))
    plain: str = Field(sa_column=Column(SAText, nullable=False))  # what the snippet is cut from
    segmented: str = Field(sa_column=Column(SAText, nullable=False))  # jieba's words, separated by spaces
    error: str | None = Field(default=None, max_length=500)
    # A document date read from the file (PDF metadata, the first date in its text, a photo's EXIF), offered to
    # the unit to confirm; suggested_from says where it was read.
    suggested_date: date | None = None
    suggested_from: str | None = Field(default=None, max_length=16)
    extracted_at: datetime = created_at_field()


def outside_metadata(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic's include_object: False for what only migration 0008c makes (the FTS5 table and its shadow
    tables on SQLite; the tsv column and its GIN index on PostgreSQL)."""
    if not reflected:
        return True
    if type_ == "table":
        return not (name or "").startswith(FTS_TABLE)
    table = getattr(getattr(obj, "table", None), "name", None)
    return not (table == "evidencetext" and (type_, name) in {("column", TSV_COLUMN), ("index", GIN_INDEX)})


class SearchHit(SQLModel):
    """One version whose words match a search: where it belongs, and the passage that matched."""

    evidence_id: int
    evidence_title: str
    evidence_status: EvidenceStatus
    version: int = Field(description="版本号")
    kind: EvidenceKind
    filename: str | None
    unit_id: int
    unit_name: str
    assignment_id: int | None
    item_id: int | None = Field(description="指标（资料直接提交到指标时）")
    item_number: int | None
    material_request_id: int | None = Field(description="材料清单条目（资料提交到跨指标的材料要求时）")
    text_status: TextStatus = Field(description="文件文字的读取情况；no_text_layer 即无文本层（扫描件）")
    text_status_label: str
    snippet: str = Field(description="命中的片段，检索词以 <mark></mark> 标出（其余文字已做 HTML 转义）")
