"""All tables, imported here so SQLModel.metadata (and Alembic) sees every one."""

from app.models.audit import AuditArchive, AuditChainHead, AuditEntry, AuditSeal
from app.models.calendar import CalendarDay, CalendarYear
from app.models.campaign import Assignment, AssignmentTally, Campaign, Engagement, LateWindow, Phase
from app.models.evidence import Evidence, EvidenceVersion, Review, UploadIntent
from app.models.follow_up import FollowUp, FollowUpCheck
from app.models.framework import (
    Framework,
    FrameworkSection,
    Heading,
    Item,
    MaterialRequest,
    MaterialRequestItem,
)
from app.models.generation import ReadGeneration
from app.models.idempotency import IdempotencyRecord
from app.models.login_attempt import LoginAttempt
from app.models.login_session import LoginSession
from app.models.outbox import Delivery, DeliveryAttempt, OutboxEvent, Webhook
from app.models.password import PasswordHistory, PasswordPolicy
from app.models.rectification import Rectification, RectificationDecision, RectificationEvidence
from app.models.region import Region
from app.models.report_template import ReportTemplate
from app.models.scoring import MetricFigure, Score, ScoringRound
from app.models.search import EvidenceText
from app.models.sso import SsoIdentity, SsoLoginState
from app.models.supervision import NoticeCounter, NoticeTemplate, SupervisionCard, SupervisionNotice
from app.models.unit import Unit, UnitGroup, UnitGroupMember
from app.models.user import ScriptToken, User
from app.models.worker import WorkerBeat

__all__ = [
    "Assignment",
    "AssignmentTally",
    "AuditArchive",
    "AuditChainHead",
    "AuditEntry",
    "AuditSeal",
    "CalendarDay",
    "CalendarYear",
    "Campaign",
    "Delivery",
    "DeliveryAttempt",
    "Engagement",
    "Evidence",
    "EvidenceText",
    "EvidenceVersion",
    "FollowUp",
    "FollowUpCheck",
    "Framework",
    "FrameworkSection",
    "Heading",
    "IdempotencyRecord",
    "LoginAttempt",
    "LoginSession",
    "Item",
    "LateWindow",
    "MaterialRequest",
    "MaterialRequestItem",
    "MetricFigure",
    "NoticeCounter",
    "NoticeTemplate",
    "OutboxEvent",
    "PasswordHistory",
    "PasswordPolicy",
    "Phase",
    "ReadGeneration",
    "Rectification",
    "RectificationDecision",
    "RectificationEvidence",
    "Region",
    "ReportTemplate",
    "Review",
    "Score",
    "ScoringRound",
    "ScriptToken",
    "SsoIdentity",
    "SsoLoginState",
    "SupervisionCard",
    "SupervisionNotice",
    "Unit",
    "UnitGroup",
    "UnitGroupMember",
    "UploadIntent",
    "User",
    "WorkerBeat",
    "Webhook",
]
