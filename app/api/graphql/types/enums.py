"""Every enum the schema shows, registered once (before any type uses it), named by the REST values."""

from __future__ import annotations

import strawberry

from app.models.campaign import AssignmentRole, AssignmentStatus, CampaignStatus
from app.models.evidence import EvidenceKind, EvidenceStatus, ReviewDecision, TextStatus, VersionState
from app.models.framework import LeadRule, SectionKind
from app.models.rectification import RectificationSource, RectificationStatus
from app.models.region import RegionLevel
from app.models.scoring import ScorerKind
from app.models.unit import UnitKind
from app.models.user import Role

for enum, description in (
    (RegionLevel, "行政区划层级"),
    (UnitKind, "单位类别"),
    (Role, "角色"),
    (CampaignStatus, "创建活动状态"),
    (AssignmentStatus, "任务的流程状态：未报送、已报送、退回补充、已通过（是否逾期另见 overdue）"),
    (AssignmentRole, "lead 牵头单位 / co 责任单位"),
    (SectionKind, "清单类别：标准指标、加分项、否决项等"),
    (LeadRule, "牵头单位规则"),
    (EvidenceKind, "file 文件 / url 网址 / statement 情况说明"),
    (EvidenceStatus, "资料状态"),
    (ReviewDecision, "approve 通过 / return 退回补充 / reopen 撤回通过"),
    (VersionState, "版本状态"),
    (ScorerKind, "office 县级初审 / evaluator 第三方评估"),
    (RectificationStatus, "整改状态"),
    (RectificationSource, "整改事项来源"),
    (
        TextStatus,
        "文件文字的读取情况：pending 待读取、done 已读取、no_text 无可读文字、no_text_layer 无文本层、failed 读取失败",
    ),
):
    strawberry.enum(enum, graphql_name_from="value", description=description)
