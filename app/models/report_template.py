"""The 自评报告 template an office hands in for one campaign (its letterhead, styles and page setup)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary
from sqlmodel import Field, SQLModel

from app.models._base import created_at_field


class ReportTemplate(SQLModel, table=True):
    """One campaign's own .docx for the 自评报告; without a row the house style (GB/T 9704) is used. Kept in
    the database (a few hundred KB at most), so a backup of the database holds it."""

    campaign_id: int = Field(foreign_key="campaign.id", primary_key=True)
    filename: str = Field(max_length=200)
    size: int
    sha256: str = Field(max_length=64)
    content: bytes = Field(sa_type=LargeBinary)
    uploaded_by: int = Field(foreign_key="app_user.id")
    uploaded_at: datetime = created_at_field()


class ReportTemplatePublic(SQLModel):
    """Which template a campaign's 自评报告 uses: the office's own (custom) or the house style."""

    campaign_id: int
    custom: bool
    filename: str
    size: int
    sha256: str
    uploaded_by: int | None = None
    uploaded_at: datetime | None = None
