"""What goes out: events written to the outbox in the writer's transaction (events), the webhooks
that receive them (webhooks) and the worker's delivery with retries (delivery).

May call: campaign, calendar, platform and the foundation modules."""
