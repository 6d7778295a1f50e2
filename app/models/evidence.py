"""Evidence (印证资料): submissions, their versions, review decisions and direct-upload intents."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AnyHttpUrl, UrlConstraints, model_validator
from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models._base import UTCDateTime, created_at_field
from app.models.text import Line, Text


class EvidenceKind(StrEnum):
    file = "file"
    url = "url"  # a web address (e.g. the county's published document)
    statement = "statement"  # a written statement (情况说明)


class EvidenceStatus(StrEnum):
    submitted = "submitted"  # waiting for the office's review
    returned = "returned"  # 退回补充: the unit must resubmit
    approved = "approved"
    withdrawn = "withdrawn"  # every version withdrawn before review


class ReviewDecision(StrEnum):
    approve = "approve"
    return_ = "return"  # 退回补充, comment required
    reopen = "reopen"  # an approval taken back, reason required


class VersionState(StrEnum):
    active = "active"
    withdrawn = "withdrawn"


class PreviewState(StrEnum):
    none = "none"  # no preview: not a file, a type without a renderer (Word, OFD, video), or unreadable
    pending = "pending"  # a PDF or image waiting for the worker
    ready = "ready"  # GET …/preview.png answers
    failed = "failed"  # stopped by a limit (time, CPU, memory), the renderer crashed, or given up: see preview_failure


class TextStatus(StrEnum):
    pending = "pending"  # not read yet: the worker has not come to it
    done = "done"
    no_text = "no_text"  # a kind of file without words to read (images, video, archives)
    no_text_layer = "no_text_layer"  # 无文本层: a PDF or OFD whose pages carry no text (a scan)
    ocr = "ocr"  # a scan or image whose words were recognised by OCR (识别文字, may hold misread characters)
    failed = "failed"  # the file could not be read (damaged, or a format we do not open)


# Why a file job (preview, search text) did not finish: the code is stored, the message is what people read.
JOB_FAILURE_MESSAGES = {
    "time_limit": "处理超时，已停止（文件可能异常，请核对后重新导出上传）",
    "cpu_limit": "处理耗时超过上限，已停止（文件可能异常，请核对后重新导出上传）",
    "memory_limit": "处理所需内存超过上限，已停止（文件可能异常，请核对后重新导出上传）",
    "crashed": "解析程序异常退出（文件可能已损坏）",
    "gave_up": "多次尝试仍未完成，已停止重试",
    "too_large": "文件过大，不做此项处理",
    "checksum": "存储的文件与登记的校验值不符",
    "missing": "文件存储中找不到该文件",
    "unreadable": "文件无法解析",
}


class JobFailure(SQLModel):
    """Why the worker could not make a preview or read the words of a file."""

    code: str = Field(
        description="time_limit、cpu_limit、memory_limit、crashed、gave_up、too_large、checksum、missing、unreadable"
    )
    message: str

    @classmethod
    def of(cls, stored: str | None) -> JobFailure | None:
        """The failure behind a stored "code: detail" (older free-text errors read as unreadable)."""
        if not stored:
            return None
        code = stored.split(":", 1)[0].strip()
        code = code if code in JOB_FAILURE_MESSAGES else "unreadable"
        return cls(code=code, message=JOB_FAILURE_MESSAGES[code])


TEXT_STATUS_LABELS = {
    TextStatus.pending: "待读取",
    TextStatus.done: "已读取",
    TextStatus.no_text: "无可读文字",
    TextStatus.no_text_layer: "无文本层",
    TextStatus.ocr: "已识别（OCR）",
    TextStatus.failed: "读取失败",
}


class Evidence(SQLModel, table=True):
    """One piece of evidence a unit hands in for an assignment, or for a material request that
    covers several items (it then counts for all of that unit's assignments of those items)."""

    __table_args__ = (
        CheckConstraint("(assignment_id IS NULL) <> (material_request_id IS NULL)", name="evidence_one_target"),
    )
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    assignment_id: int | None = Field(default=None, foreign_key="assignment.id", index=True)
    material_request_id: int | None = Field(default=None, foreign_key="materialrequest.id", index=True)
    title: str = Field(max_length=200)
    status: str = Field(default=EvidenceStatus.submitted, sa_type=String(16), index=True)
    current_version: int = 1
    created_by: int = Field(foreign_key="app_user.id")
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class EvidenceVersion(SQLModel, table=True):
    """One submitted version; never changed afterwards except to mark it withdrawn."""

    __table_args__ = (UniqueConstraint("evidence_id", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    evidence_id: int = Field(foreign_key="evidence.id", index=True)
    number: int
    kind: str = Field(sa_type=String(16))
    object_key: str | None = Field(default=None, max_length=255, unique=True)
    filename: str | None = Field(default=None, max_length=255)
    content_type: str | None = Field(default=None, max_length=120)
    size: int | None = Field(default=None, sa_type=BigInteger)
    sha256: str | None = Field(default=None, max_length=64, index=True)  # index: reused files are found by it
    extension: str | None = Field(default=None, max_length=10)  # of the detected type; downloads carry it
    page_count: int | None = None  # a PDF's pages, counted when it was accepted
    url: str | None = Field(default=None, max_length=2000)
    text: str | None = None
    # the same bytes (or address, or statement) as a version of this evidence that was returned
    resubmitted_unchanged: bool = False
    state: str = Field(default=VersionState.active, sa_type=String(16))
    created_by: int = Field(foreign_key="app_user.id")
    created_at: datetime = created_at_field()
    withdrawn_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # The first page's PNG preview, made by the worker (never in the request): claimed under a lease.
    preview: str = Field(default=PreviewState.none, sa_type=String(8), index=True)
    preview_key: str | None = Field(default=None, max_length=255, unique=True)
    preview_attempts: int = 0
    preview_lease_token: str | None = Field(default=None, max_length=36)
    preview_lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    preview_error: str | None = Field(default=None, max_length=300)  # "code: detail" when failed or none
    # Reading the words for search, claimed under a lease like the preview (the words go to evidencetext).
    text_attempts: int = 0
    text_lease_token: str | None = Field(default=None, max_length=36)
    text_lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # 沿用: carried from an earlier campaign by its office (app/services/carryover); the bytes are a copy of their own.
    origin_version_id: int | None = Field(default=None, foreign_key="evidenceversion.id", index=True)
    origin_campaign_id: int | None = Field(default=None, foreign_key="campaign.id")
    # A photo's EXIF, read when it was accepted: the local time on the camera's clock (EXIF has no zone) and GPS.
    taken_at: datetime | None = Field(default=None, sa_column=Column(DateTime(), nullable=True))
    taken_latitude: float | None = None
    taken_longitude: float | None = None
    # The date the document speaks for (成文日期/发生日期) and the period it covers, as the unit gave or confirmed.
    document_date: date | None = None
    period_start: date | None = None
    period_end: date | None = None


class Review(SQLModel, table=True):
    """A review decision on exactly one version of one piece of evidence."""

    id: int | None = Field(default=None, primary_key=True)
    evidence_id: int = Field(foreign_key="evidence.id", index=True)
    version_id: int = Field(foreign_key="evidenceversion.id", index=True)
    decision: str = Field(sa_type=String(16))
    comment: str = ""
    status_after: str = Field(sa_type=String(16))
    reviewer_id: int = Field(foreign_key="app_user.id")
    created_at: datetime = created_at_field()


class UploadIntent(SQLModel, table=True):
    """A presigned direct upload handed to a client; completed, or expired and its object removed."""

    id: str = Field(primary_key=True, max_length=32)
    object_key: str = Field(max_length=255, unique=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    unit_id: int = Field(foreign_key="unit.id")
    assignment_id: int | None = Field(default=None, foreign_key="assignment.id")
    material_request_id: int | None = Field(default=None, foreign_key="materialrequest.id")
    evidence_id: int | None = Field(default=None, foreign_key="evidence.id")
    title: str | None = Field(default=None, max_length=200)
    filename: str = Field(max_length=255)
    size: int = Field(sa_type=BigInteger)
    sha256: str | None = Field(default=None, max_length=64)
    created_by: int = Field(foreign_key="app_user.id")
    created_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    completed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # A resumable upload: the store's multipart upload id and the part size (None: a single PUT only).
    upload_id: str | None = Field(default=None, max_length=1024)
    part_size: int | None = Field(default=None, sa_type=BigInteger)


HttpUrl = Annotated[AnyHttpUrl, UrlConstraints(max_length=2000, allowed_schemes=["http", "https"])]


class VersionDates(SQLModel):
    """The date a version's document speaks for (成文日期/发生日期) and, optionally, the period it covers."""

    document_date: date | None = Field(default=None, description="成文日期或发生日期，如 2023-03-05")
    period_start: date | None = Field(default=None, description="资料涵盖期间的开始日期（可选，须与结束日期同填）")
    period_end: date | None = Field(default=None, description="资料涵盖期间的结束日期")

    @model_validator(mode="after")
    def _period(self) -> VersionDates:
        if (self.period_start is None) != (self.period_end is None):
            raise ValueError("资料涵盖期间的开始日期和结束日期须同时填写")
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise ValueError("资料涵盖期间的结束日期早于开始日期")
        return self


class VersionDatesUpdate(VersionDates):
    """Body of PATCH /evidence/{id}/versions/{number}: the unit enters or confirms the dates (all three are set
    as sent: a field left out is cleared)."""


class EvidenceTarget(SQLModel):
    """Where new evidence goes: the assignment itself, or one of the material requests covering its item."""

    title: Line | None = Field(default=None, max_length=200)
    material_request_id: int | None = None


class LinkOrStatement(SQLModel):
    """Body of a web-address or statement submission: exactly one of url and text."""

    kind: EvidenceKind = Field(description="url 或 statement（文件请用 /file 或直传接口）")
    url: HttpUrl | None = None
    text: Text | None = Field(default=None, min_length=1, max_length=20000)

    @model_validator(mode="after")
    def _one_of(self) -> LinkOrStatement:
        if self.kind == EvidenceKind.file:
            raise ValueError("文件请通过文件上传接口（…/file）或直传接口（…/uploads）提交")
        if self.kind == EvidenceKind.url and (self.url is None or self.text is not None):
            raise ValueError("网址资料只需填写 url")
        if self.kind == EvidenceKind.statement and (not (self.text or "").strip() or self.url is not None):
            raise ValueError("情况说明只需填写 text，且不能为空")
        return self


class EvidenceCreate(EvidenceTarget, LinkOrStatement, VersionDates):
    """Body of POST /assignments/{id}/evidence."""


class FileFields(EvidenceTarget, VersionDates):
    """The fields of a multipart file upload besides the file (form fields or query parameters)."""


class UploadIntentCreate(EvidenceTarget):
    """Body of a request for a presigned direct upload."""

    filename: Line = Field(min_length=1, max_length=1000)
    size: int = Field(gt=0)
    sha256: str | None = Field(default=None, schema_extra={"pattern": r"^[0-9a-f]{64}$"})  # enforced (regex= is not)
    resumable: bool | None = Field(
        default=None,
        description="是否分片上传（可续传）：true 分片、false 整个文件一次 PUT；不填时大于一个分片的文件按分片提供",
    )


class PartUrl(SQLModel):
    """Where to PUT one part of a resumable upload (in any order), and the headers to send with it."""

    number: int = Field(description="分片序号，从 1 起")
    size: int = Field(description="该分片的字节数（Content-Length 须与之相等）")
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    expires_at: datetime


class ReceivedPart(SQLModel):
    """A part the store already holds."""

    number: int
    size: int


class UploadParts(SQLModel):
    """A resumable upload's parts: their size and count, which the store already holds, and fresh URLs for the
    rest (a client that lost its connection asks this, then sends only the missing parts and completes)."""

    part_size: int
    part_count: int
    received: list[ReceivedPart] = Field(default_factory=list)
    missing: list[int] = Field(default_factory=list, description="尚未收到的分片序号")
    urls: list[PartUrl] = Field(default_factory=list, description="尚未收到的分片的上传地址")


class UploadIntentPublic(SQLModel):
    """Where to PUT the bytes (the whole file at upload_url, or a resumable upload's parts), until when, and
    which id to complete."""

    id: str
    upload_url: str
    method: str = "PUT"
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="随 PUT 一并发送的请求头（已签入地址；Content-Length 须等于申报的大小）",
    )
    expires_at: datetime
    max_bytes: int
    parts: UploadParts | None = Field(
        default=None,
        description="分片上传（可续传）时：各分片的上传地址；断线后用 GET /uploads/{id}/parts 查询已收到的分片",
    )


class PhotoPublic(SQLModel):
    """What a photo's EXIF says (拍摄时间/拍摄地点): shown to the office, the evaluators and the unit that sent it."""

    taken_at: datetime | None = Field(description="拍摄时间（相机时钟的当地时间，EXIF 不含时区）")
    latitude: float | None = Field(description="拍摄地点纬度（WGS-84，南纬为负）")
    longitude: float | None = Field(description="拍摄地点经度（WGS-84，西经为负）")


class DateSource(StrEnum):
    pdf_metadata = "pdf_metadata"  # the PDF's CreationDate
    text = "text"  # the first date written in the text
    exif = "exif"  # a photo's capture time


class ReviewCreate(SQLModel):
    """Body of POST /evidence/{id}/reviews: the decision on the named version."""

    decision: ReviewDecision
    version: int = Field(ge=1, description="所审核的版本号（必须是当前版本）")
    comment: Text = Field(default="", max_length=2000)


class VersionPublic(SQLModel):
    """A version as the API shows it (bytes are downloaded separately)."""

    number: int
    kind: EvidenceKind
    filename: str | None = Field(description="上传时的原文件名（仅作记录）")
    download_name: str | None = Field(default=None, description="下载时的文件名：扩展名按检测到的类型")
    content_type: str | None
    size: int | None
    sha256: str | None
    page_count: int | None = Field(default=None, description="PDF 页数")
    resubmitted_unchanged: bool = Field(default=False, description="与此前被退回的版本内容完全相同")
    text_status: TextStatus = Field(
        default=TextStatus.pending,
        description="供检索的文字读取情况：pending 待读取、done 已读取、no_text 无可读文字、"
        "no_text_layer 无文本层（扫描件，只能按标题检索）、failed 读取失败",
    )
    url: str | None
    text: str | None
    state: VersionState
    created_by: int
    created_at: datetime
    withdrawn_at: datetime | None
    preview: PreviewState = Field(
        default=PreviewState.none,
        description="首页预览图：ready 可取 preview.png；pending 正在生成；none 无预览（显示文件类型图标）；"
        "failed 生成失败（原因见 preview_failure）",
    )
    preview_failure: JobFailure | None = Field(default=None, description="预览图未能生成的原因")
    text_failure: JobFailure | None = Field(default=None, description="文字未能读取（检索）的原因")
    carried: bool = Field(default=False, description="沿用：由县依法治县办从此前的创建活动结转而来（内容与原版本相同）")
    origin_version_id: int | None = Field(default=None, description="沿用的原版本（此前创建活动中的资料版本）")
    origin_campaign_id: int | None = Field(default=None, description="沿用自哪一次创建活动")
    photo: PhotoPublic | None = Field(
        default=None, description="照片的拍摄时间和地点（EXIF）；仅依法治县办、评估人员和报送单位可见，其他人为 null"
    )
    document_date: date | None = Field(default=None, description="成文日期/发生日期（报送单位填写或确认）")
    period_start: date | None = Field(default=None, description="资料涵盖期间的开始日期")
    period_end: date | None = Field(default=None, description="资料涵盖期间的结束日期")
    suggested_document_date: date | None = Field(
        default=None, description="从文件中读出的建议日期，待报送单位确认（PDF 元数据、正文中第一个日期或照片 EXIF）"
    )
    suggested_from: DateSource | None = Field(default=None, description="建议日期的来源")
    outside_period: bool | None = Field(
        default=None,
        description="成文日期（未填写时按建议日期）或涵盖期间是否在创建活动的考核期之外；考核期或日期未知时为 null",
    )


class ReviewPublic(SQLModel):
    """A review decision and the version it judged."""

    id: int
    version: int
    decision: ReviewDecision
    comment: str
    status_after: EvidenceStatus
    reviewer_id: int
    created_at: datetime


class EvidenceItem(SQLModel):
    """An item evidence counts for, as a clerk names it."""

    item_id: int
    number: int
    label: str = Field(description="文件和消息中对该项的称呼：第18项；其他清单为“加分项第1项”")
    text: str = Field(description="指标内容")


class EvidencePublic(SQLModel):
    """A piece of evidence with its current version, its unit and the items it counts for."""

    id: int
    campaign_id: int
    unit_id: int
    assignment_id: int | None
    material_request_id: int | None
    title: str
    status: EvidenceStatus
    current_version: int
    created_at: datetime
    updated_at: datetime
    current: VersionPublic | None = None
    unit_name: str = Field(default="", description="报送单位")
    item_label: str = Field(default="", description="资料计入的指标，如“第18项”“第26、27、28项”")
    items: list[EvidenceItem] = Field(
        default_factory=list, description="资料计入的指标（按资料报送要求提交的，涵盖该要求的每一项）"
    )


class ReuseRef(SQLModel):
    """A version of another piece of evidence holding the same bytes (SHA-256): where else they were handed in."""

    evidence_id: int
    title: str
    version: int
    sha256: str
    campaign_id: int
    campaign_name: str
    unit_id: int
    unit_name: str
    assignment_id: int | None
    item_id: int | None = Field(description="指标（按资料报送要求提交的资料为空）")
    item_key: str | None
    material_request_id: int | None


class ReusedFile(SQLModel):
    """Bytes (one SHA-256) handed in as more than one piece of evidence in the county's campaigns."""

    sha256: str
    size: int | None
    uses: list[ReuseRef]


class EvidenceDetail(EvidencePublic):
    """A piece of evidence with every version and review."""

    versions: list[VersionPublic] = []
    reviews: list[ReviewPublic] = []
    reused_in: list[ReuseRef] | None = Field(
        default=None,
        description="同一文件（SHA-256 相同）在本县其他资料中的使用（其他单位、指标或创建活动）；联络员不可见，为 null",
    )


class DownloadLink(SQLModel):
    """A short-lived GET URL that needs no token: presigned by the object store, or signed by the API."""

    url: str
    expires_at: datetime
