"""Webhooks a county office registers, and their delivery log."""

from __future__ import annotations

import re
from collections import defaultdict

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.models import Region
from app.models.outbox import (
    AttemptPublic,
    Delivery,
    DeliveryAttempt,
    DeliveryPublic,
    OutboxEvent,
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookKind,
    WebhookPublic,
)
from app.models.user import Role
from app.services.access import Principal, county_scope
from app.services.errors import Invalid, NotFound
from app.services.notifications import addresses, receivers, signing
from app.services.platform import audit


def register(session: Session, *, data: WebhookCreate, principal: Principal) -> WebhookCreated:
    """Register a receiver for the office's county (an admin names the county); the secret is shown once."""
    principal.require(Role.office, Role.system_admin)
    county_id = principal.county_id if principal.role == Role.office else data.county_id
    if county_id is None or session.get(Region, county_id) is None:
        raise Invalid("请指定接收事件的县（区）", code="county_required")
    receivers.check_registration(data.kind, str(data.url), data.robot_secret)
    addresses.check_url(str(data.url))  # checked again before every delivery: DNS can change
    hook = Webhook(
        county_id=county_id,
        url=str(data.url),
        kind=data.kind,
        secret=signing.new_secret() if data.kind == WebhookKind.standard else "",
        robot_secret=data.robot_secret or "",
        kinds=[k.value for k in data.kinds],
        created_by=principal.user_id,
    )
    session.add(hook)
    session.flush()
    _audit(session, principal, "webhook.create", hook)
    return WebhookCreated.model_validate({**public(hook).model_dump(), "secret": hook.secret or None})


# A chat robot's URL holds its credential (access_token, key): lists and the audit show only its ends.
_CREDENTIAL = re.compile(r"(?<=[?&])(access_token|key)=([^&#]*)")


def masked_url(url: str) -> str:
    """The URL with a robot's access_token or key shortened to its first and last four characters."""
    return _CREDENTIAL.sub(lambda m: f"{m[1]}={m[2][:4]}…{m[2][-4:]}" if len(m[2]) > 12 else f"{m[1]}=…", url)


def public(hook: Webhook) -> WebhookPublic:
    """A webhook as the API shows it: no secret, a chat robot's credential masked."""
    data = hook.model_dump()
    return WebhookPublic.model_validate({**data, "url": masked_url(hook.url) if hook.kind != "standard" else hook.url})


def _get(session: Session, *, webhook_id: int, principal: Principal) -> Webhook:
    principal.require(Role.office, Role.system_admin)
    hook = session.exec(
        select(Webhook).where(Webhook.id == webhook_id, county_scope(principal, col(Webhook.county_id)))
    ).first()
    if hook is None:
        raise NotFound("未找到该事件推送地址", code="webhook_not_found")
    return hook


def list_visible(session: Session, *, principal: Principal) -> list[WebhookPublic]:
    """The webhooks of the caller's county (all for an admin)."""
    principal.require(Role.office, Role.system_admin)
    rows = session.exec(select(Webhook).where(county_scope(principal, col(Webhook.county_id))).order_by(Webhook.id))
    return [public(hook) for hook in rows.all()]


def deactivate(session: Session, *, webhook_id: int, principal: Principal) -> None:
    """Stop sending to a webhook (its log stays)."""
    hook = _get(session, webhook_id=webhook_id, principal=principal)
    hook.active = False
    session.add(hook)
    session.flush()
    _audit(session, principal, "webhook.deactivate", hook)


def deliveries(
    session: Session, *, webhook_id: int, principal: Principal, limit: int, offset: int
) -> tuple[list[DeliveryPublic], int]:
    """A page of the webhook's deliveries, newest first, each with its attempts."""
    _get(session, webhook_id=webhook_id, principal=principal)
    base = select(Delivery, OutboxEvent).join(OutboxEvent, col(OutboxEvent.id) == Delivery.event_id)
    base = base.where(Delivery.webhook_id == webhook_id)
    total = session.exec(select(func.count()).select_from(Delivery).where(Delivery.webhook_id == webhook_id)).one()
    rows = session.exec(base.order_by(col(Delivery.id).desc()).limit(limit).offset(offset)).all()
    attempts: dict[int, list[AttemptPublic]] = defaultdict(list)
    for a in session.exec(
        select(DeliveryAttempt)
        .where(col(DeliveryAttempt.delivery_id).in_([d.id for d, _ in rows]))
        .order_by(DeliveryAttempt.number)
    ).all():
        attempts[a.delivery_id].append(AttemptPublic.model_validate(a.model_dump()))
    return [
        DeliveryPublic.model_validate(
            {**d.model_dump(), "event_id": e.event_id, "kind": e.kind, "log": attempts[d.id]}  # type: ignore[index]
        )
        for d, e in rows
    ], total


def _audit(session: Session, principal: Principal, action: str, hook: Webhook) -> None:
    audit.record(
        session,
        principal=principal,
        action=action,
        object_type="webhook",
        object_id=hook.id,  # type: ignore[arg-type]
        county_id=hook.county_id,
        campaign_id=None,
        before=None,
        after={**(audit.snapshot(hook, "kind", "kinds", "active") or {}), "url": public(hook).url},
    )
