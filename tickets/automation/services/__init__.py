"""Writes of triggers and automations; see the modules for each part."""

from .actions import actions_run, notification_send
from .rulebook import (
    automation_defaults_install,
    notifications_mark_read,
    rule_clean,
    rule_create,
    rule_delete,
    rule_update,
)
from .sweep import automation_apply, automation_candidates, automation_sweep
from .triggers import triggers_run
from .webhooks import (
    webhook_call_attempt,
    webhook_call_queue,
    webhook_calls_due,
    webhook_target_create,
    webhook_target_update,
    webhook_url_check,
)

__all__ = [
    "actions_run",
    "automation_apply",
    "automation_candidates",
    "automation_defaults_install",
    "automation_sweep",
    "notification_send",
    "notifications_mark_read",
    "rule_clean",
    "rule_create",
    "rule_delete",
    "rule_update",
    "triggers_run",
    "webhook_call_attempt",
    "webhook_call_queue",
    "webhook_calls_due",
    "webhook_target_create",
    "webhook_target_update",
    "webhook_url_check",
]
