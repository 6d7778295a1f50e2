"""Every enum the schema shows, registered once (before any type uses it). GraphQL names its enum values in
UPPER_CASE (the convention every GraphQL client expects): the REST value in capitals, `not_started` → NOT_STARTED,
`return` → RETURN. Inputs and answers carry those names; the resolvers still get and give the Python enums."""

from __future__ import annotations

import strawberry

from app.models.campaign import AssignmentRole, AssignmentStatus, CampaignStatus
from app.models.evidence import DateSource, EvidenceKind, EvidenceStatus, ReviewDecision, TextStatus, VersionState
from app.models.follow_up import CheckResult, FollowUpTarget
from app.models.framework import LeadRule, SectionKind
from app.models.rectification import RectificationPool, RectificationSource, RectificationStatus
from app.models.region import RegionLevel
from app.models.scoring import ScorerKind
from app.models.supervision import Light, Subject
from app.models.unit import UnitKind
from app.models.user import Role

for enum, description in (
    (RegionLevel, "行政区划层级"),
    (UnitKind, "单位类别"),
    (Role, "角色"),
    (CampaignStatus, "创建活动状态"),
    (AssignmentStatus, "任务的流程状态：未报送、已报送、退回补充、已通过（是否逾期另见 overdue）"),
    (AssignmentRole, "LEAD 牵头单位 / CO 责任单位"),
    (SectionKind, "清单类别：标准指标、加分项、否决项等"),
    (LeadRule, "牵头单位规则"),
    (EvidenceKind, "FILE 文件 / URL 网址 / STATEMENT 情况说明"),
    (EvidenceStatus, "资料状态"),
    (ReviewDecision, "APPROVE 通过 / RETURN 退回补充 / REOPEN 撤回通过"),
    (VersionState, "版本状态"),
    (ScorerKind, "OFFICE 县级初审 / EVALUATOR 第三方评估"),
    (RectificationStatus, "整改状态"),
    (RectificationSource, "整改事项来源"),
    (RectificationPool, "问题池筛选：OPEN 未销号、CLOSED 已销号、REOPENED 被重新打开且尚未再次销号"),
    (FollowUpTarget, "回头看对象：RECTIFICATION 已销号的整改事项 / ASSIGNMENT 已通过的任务"),
    (CheckResult, "复查结果：PENDING 待复查、CONFIRMED 属实、REOPENED 重新打开"),
    (Light, "预警灯：NONE 无、BLUE 蓝（临近截止）、YELLOW 黄、RED 红"),
    (Subject, "督办对象：ASSIGNMENT 任务分工 / RECTIFICATION 整改事项"),
    (
        TextStatus,
        "文件文字的读取情况：PENDING 待读取、DONE 已读取、NO_TEXT 无可读文字、NO_TEXT_LAYER 无文本层、"
        "OCR 已识别（扫描件或照片，文字由 OCR 识别）、FAILED 读取失败",
    ),
    (DateSource, "建议日期的来源：PDF_METADATA PDF 元数据、TEXT 正文中第一个日期、EXIF 照片拍摄时间"),
):
    definition = strawberry.enum(enum, graphql_name_from="value", description=description).__strawberry_definition__
    for value in definition.values:
        value.name = str(value.value).upper()
