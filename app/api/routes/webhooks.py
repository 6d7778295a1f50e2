"""Webhooks: where a county's events are pushed (signed, retried), and the delivery log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from app.api.deps import CurrentPrincipal, PageDep, SessionDep
from app.models.common import Page
from app.models.outbox import DeliveryPublic, WebhookCreate, WebhookCreated, WebhookPublic
from app.services.notifications import webhooks

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


@router.post("", response_model=WebhookCreated, status_code=status.HTTP_201_CREATED)
def register_webhook(data: WebhookCreate, session: SessionDep, who: CurrentPrincipal) -> WebhookCreated:
    """Register a receiver (office): standard, DingTalk or WeCom robot; a whsec_ secret is shown only here."""
    return webhooks.register(session, data=data, principal=who)


@router.get("", response_model=Page[WebhookPublic])
def list_webhooks(session: SessionDep, who: CurrentPrincipal, page: PageDep) -> Page[Any]:
    """The county's webhooks."""
    return page.of_all(webhooks.list_visible(session, principal=who))


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
def deactivate_webhook(webhook_id: int, session: SessionDep, who: CurrentPrincipal) -> None:
    """Stop sending to a webhook; its delivery log stays."""
    webhooks.deactivate(session, webhook_id=webhook_id, principal=who)


@router.get("/{webhook_id}/deliveries", response_model=Page[DeliveryPublic])
def list_deliveries(webhook_id: int, session: SessionDep, who: CurrentPrincipal, page: PageDep) -> Page[DeliveryPublic]:
    """The delivery log: each event sent, its status and every attempt."""
    items, total = webhooks.deliveries(
        session, webhook_id=webhook_id, principal=who, limit=page.limit, offset=page.offset
    )
    return page.of(items, total)
