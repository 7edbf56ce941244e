"""Hooks other parts of the product listen to, sent from Celery tasks after commit.

`message_ingested(message_id=...)`: an inbound message is stored (routing, SLA, triggers
and metrics subscribe here). `message_delivery_changed(message_id=..., status=...)`. `ticket_solved(ticket_id=...)`.
"""

from django.dispatch import Signal

message_ingested = Signal()
message_delivery_changed = Signal()
# ticket_solved(ticket_id=...): a ticket became solved; sent after commit (metrics issues a survey).
ticket_solved = Signal()
