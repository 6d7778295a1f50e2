"""Evidence: metadata, versions, reviews and a short-lived download address (never the bytes)."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from app.api.graphql.types._base import Info, from_obj
from app.models.evidence import (
    DateSource,
    EvidenceKind,
    EvidencePublic,
    EvidenceStatus,
    PreviewState,
    ReviewDecision,
    TextStatus,
    VersionState,
)
from app.services.submission import uploads


@strawberry.type(name="JobFailure", description="worker 未能生成预览图或读取文字的原因")
class JobFailureType:
    code: str = strawberry.field(
        description="time_limit、cpu_limit、memory_limit、crashed、gave_up、too_large、checksum、missing、unreadable"
    )
    message: str


@strawberry.type(name="Photo", description="照片的拍摄时间和地点（EXIF）")
class PhotoType:
    taken_at: datetime | None = strawberry.field(description="拍摄时间（相机时钟的当地时间，EXIF 不含时区）")
    latitude: float | None = strawberry.field(description="拍摄地点纬度（WGS-84，南纬为负）")
    longitude: float | None = strawberry.field(description="拍摄地点经度（WGS-84，西经为负）")


@strawberry.type(name="EvidenceVersion", description="资料的一个版本")
class VersionType:
    number: int
    kind: EvidenceKind
    filename: str | None = strawberry.field(description="上传时的原文件名（仅作记录）")
    download_name: str | None = strawberry.field(description="下载时的文件名：扩展名按检测到的类型")
    content_type: str | None
    size: float | None = strawberry.field(description="字节数")
    sha256: str | None
    page_count: int | None = strawberry.field(description="PDF 页数")
    resubmitted_unchanged: bool = strawberry.field(description="与此前被退回的版本内容完全相同")
    text_status: TextStatus = strawberry.field(description="供检索的文字读取情况；NO_TEXT_LAYER 即无文本层（扫描件）")
    url: str | None
    text: str | None
    state: VersionState
    created_by: int
    created_at: datetime
    withdrawn_at: datetime | None
    preview: PreviewState = strawberry.field(
        description="首页预览图：READY 可取 …/preview.png；PENDING 正在生成；NONE 无预览（显示文件类型图标）；"
        "FAILED 生成失败（原因见 previewFailure）"
    )
    preview_failure: JobFailureType | None = strawberry.field(description="预览图未能生成的原因")
    text_failure: JobFailureType | None = strawberry.field(description="文字未能读取（检索）的原因")
    carried: bool = strawberry.field(description="沿用：由县依法治县办从此前的创建活动结转而来（内容与原版本相同）")
    origin_version_id: int | None = strawberry.field(description="沿用的原版本（此前创建活动中的资料版本）")
    origin_campaign_id: int | None = strawberry.field(description="沿用自哪一次创建活动")
    photo: PhotoType | None = strawberry.field(
        description="照片的拍摄时间和地点；仅依法治县办、评估人员和报送单位可见，其他人为 null"
    )
    document_date: date | None = strawberry.field(description="成文日期/发生日期（报送单位填写或确认）")
    period_start: date | None = strawberry.field(description="资料涵盖期间的开始日期")
    period_end: date | None = strawberry.field(description="资料涵盖期间的结束日期")
    suggested_document_date: date | None = strawberry.field(description="从文件中读出的建议日期，待报送单位确认")
    suggested_from: DateSource | None = strawberry.field(description="建议日期的来源")
    outside_period: bool | None = strawberry.field(
        description="成文日期（未填写时按建议日期）或涵盖期间是否在考核期之外；考核期或日期未知时为 null"
    )


@strawberry.type(name="SearchHit", description="检索命中的一个资料版本：所属单位、指标，以及命中的片段")
class SearchHitType:
    evidence_id: int
    evidence_title: str
    evidence_status: EvidenceStatus
    version: int = strawberry.field(description="版本号")
    kind: EvidenceKind
    filename: str | None
    unit_id: int
    unit_name: str
    assignment_id: int | None
    item_id: int | None = strawberry.field(description="指标（资料直接提交到指标时）")
    item_number: int | None
    material_request_id: int | None = strawberry.field(description="材料清单条目（资料提交到跨指标的材料要求时）")
    text_status: TextStatus = strawberry.field(description="文件文字的读取情况；NO_TEXT_LAYER 即无文本层（扫描件）")
    text_status_label: str
    snippet: str = strawberry.field(description="命中的片段，检索词以 <mark></mark> 标出（其余文字已做 HTML 转义）")


@strawberry.type(name="Review", description="一次审核决定及其所审的版本")
class ReviewType:
    id: int
    version: int
    decision: ReviewDecision
    comment: str
    status_after: EvidenceStatus
    reviewer_id: int
    created_at: datetime


@strawberry.type(name="ReuseRef", description="同一文件（SHA-256 相同）被提交为另一份资料的一个版本")
class ReuseRefType:
    evidence_id: int
    title: str
    version: int
    sha256: str
    campaign_id: int
    campaign_name: str
    unit_id: int
    unit_name: str
    assignment_id: int | None
    item_id: int | None
    item_key: str | None
    material_request_id: int | None


@strawberry.type(name="ReusedFile", description="在本县资料中被提交多次的同一文件")
class ReusedFileType:
    sha256: str
    size: float | None = strawberry.field(description="字节数")
    uses: list[ReuseRefType]


@strawberry.type(name="DownloadLink", description="短时有效的下载地址")
class DownloadLinkType:
    url: str
    expires_at: datetime


@strawberry.type(name="EvidenceItem", description="资料计入的一项指标")
class EvidenceItemType:
    item_id: int
    number: int
    label: str = strawberry.field(description="第18项；其他清单为“加分项第1项”")
    text: str = strawberry.field(description="指标内容")


@strawberry.type(name="Evidence", description="一份印证资料")
class EvidenceType:
    id: int
    campaign_id: int
    unit_id: int
    unit_name: str = strawberry.field(description="报送单位")
    item_label: str = strawberry.field(description="资料计入的指标，如“第18项”“第26、27、28项”")
    # EvidenceItem models of the service, read like the type's own fields
    items: list[EvidenceItemType] = strawberry.field(description="资料计入的指标")
    assignment_id: int | None
    material_request_id: int | None
    title: str
    status: EvidenceStatus
    current_version: int
    created_at: datetime
    updated_at: datetime
    current: VersionType | None

    @staticmethod
    def of(e: EvidencePublic) -> EvidenceType:
        return from_obj(EvidenceType, e, current=from_obj(VersionType, e.current) if e.current else None)

    @strawberry.field(description="全部版本")
    async def versions(self, info: Info) -> list[VersionType]:
        found = await info.context.loaders.evidence_detail.load(self.id)
        return [from_obj(VersionType, v) for v in found.versions]

    @strawberry.field(description="全部审核记录")
    async def reviews(self, info: Info) -> list[ReviewType]:
        found = await info.context.loaders.evidence_detail.load(self.id)
        return [from_obj(ReviewType, r) for r in found.reviews]

    @strawberry.field(description="同一文件在本县其他资料中的使用（联络员不可见，为 null）")
    async def reused_in(self, info: Info) -> list[ReuseRefType] | None:
        found = await info.context.loaders.evidence_detail.load(self.id)
        return None if found.reused_in is None else [from_obj(ReuseRefType, r) for r in found.reused_in]

    @strawberry.field(description="文件版本的短时下载地址（默认当前版本；网址和情况说明没有文件）")
    async def download_link(self, info: Info, version: int | None = None) -> DownloadLinkType | None:
        # nullable: a URL or statement version has no file; its error nulls this field only, not the list
        link = await info.context.call(
            uploads.download_link,
            store=info.context.store,
            evidence_id=self.id,
            number=version or self.current_version,
            api_base=info.context.api_base,
        )
        return from_obj(DownloadLinkType, link)
