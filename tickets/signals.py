"""Hooks other parts of the product listen to, sent from Celery tasks after commit.

`message_ingested(message_id=...)`: an inbound message is stored (routing, SLA, triggers
and metrics subscribe here). `message_delivery_changed(message_id=..., status=...)`.
"""

from django.dispatch import Signal

message_ingested = Signal()
message_delivery_changed = Signal()
