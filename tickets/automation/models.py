"""Triggers (rules run when something happens to a ticket) and automations (rules run by the
clock), and the rows that make them safe to run twice: which trigger fired for which chain of
events, which automation was applied to which ticket state, which events were evaluated.

Conditions and actions are JSON, validated by `tickets.automation.rules` (see there for the
vocabulary); a rule's webhook action points at a `WebhookTarget`, whose secret is stored
encrypted."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def _empty_conditions() -> dict:
    return {"all": [], "any": []}


class Rule(models.Model):
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0, help_text=_("Lower runs first."))
    conditions = models.JSONField(
        _("conditions"),
        default=_empty_conditions,
        blank=True,
        help_text=_('{"all": [...], "any": [...]}; each {"field": ..., "operator": ..., "value": ...}.'),
    )
    actions = models.JSONField(
        _("actions"),
        default=list,
        blank=True,
        help_text=_('A list such as [{"action": "set_status", "value": "open"}].'),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)

    class Meta:
        abstract = True
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class Trigger(Rule):
    """Runs when a ticket is created or updated, or a customer or agent replies."""

    class Meta(Rule.Meta):
        verbose_name = _("trigger")
        verbose_name_plural = _("triggers")


class Automation(Rule):
    """Run by the hourly sweep on tickets whose conditions (with hours since ...) hold."""

    class Meta(Rule.Meta):
        verbose_name = _("automation")
        verbose_name_plural = _("automations")


class WebhookTarget(models.Model):
    """Where a rule's webhook action posts the ticket, signed like the outbound webhooks."""

    name = models.CharField(_("name"), max_length=200)
    url = models.URLField(_("URL"), max_length=500)
    # Encrypted (webhooks.crypto): signing needs the secret itself.
    secret_encrypted = models.TextField(_("secret (encrypted)"), editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("rule webhook target")
        verbose_name_plural = _("rule webhook targets")

    def __str__(self) -> str:
        return self.name


class TriggerEventMark(models.Model):
    """An Event the trigger run has looked at (whether or not a trigger fired): a retried or
    repeated run never evaluates it again."""

    event = models.OneToOneField("tickets.Event", primary_key=True, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    processed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["ticket", "event"], name="automation_mark_ticket")]

    def __str__(self) -> str:
        return f"event {self.event_id} evaluated"


class FiringOutcome(models.TextChoices):
    FIRED = "fired", _("Fired")
    RATE_LIMITED = "rate_limited", _("Held back by the rate limit")


class TriggerFiring(models.Model):
    """One trigger fired (or was held back) for one ticket in one chain of events. A chain
    starts with a change made by a person or the system; changes made by triggers continue
    it. Unique per chain: a trigger fires at most once per chain."""

    trigger = models.ForeignKey(Trigger, on_delete=models.CASCADE, related_name="firings")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    chain = models.BigIntegerField(_("chain (first event id)"))
    event_id = models.BigIntegerField(_("event"))
    depth = models.PositiveSmallIntegerField(_("depth"), default=0)
    outcome = models.CharField(_("outcome"), max_length=20, choices=FiringOutcome.choices, default=FiringOutcome.FIRED)
    results = models.JSONField(_("results"), default=list, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("trigger firing")
        verbose_name_plural = _("trigger firings")
        constraints = [
            models.UniqueConstraint(fields=["trigger", "ticket", "chain"], name="automation_firing_once_per_chain")
        ]
        indexes = [models.Index(fields=["trigger", "ticket", "created_at"], name="automation_firing_rate")]

    def __str__(self) -> str:
        return f"{self.trigger} on ticket {self.ticket_id} ({self.outcome})"


class AutomationApplication(models.Model):
    """An automation applied to a ticket in one state (the status it has held since
    `state_since`): the sweep applies it again only when the ticket's state changes."""

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="applications")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    state_since = models.DateTimeField(_("state since"))
    results = models.JSONField(_("results"), default=list, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("automation application")
        verbose_name_plural = _("automation applications")
        constraints = [
            models.UniqueConstraint(
                fields=["automation", "ticket", "state_since"], name="automation_applied_once_per_state"
            )
        ]

    def __str__(self) -> str:
        return f"{self.automation} on ticket {self.ticket_id}"


class Notification(models.Model):
    """A note for an agent from a rule ("ticket #12 was escalated to you")."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    ticket = models.ForeignKey("tickets.Ticket", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    text = models.TextField(_("text"))
    source = models.CharField(_("from"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [models.Index(fields=["user", "-created_at"], name="automation_notification_user")]

    def __str__(self) -> str:
        return self.text[:80]


class WebhookCallStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class WebhookCall(models.Model):
    """One POST of a ticket to a rule's webhook target, retried with backoff until it
    succeeds or runs out of tries; failures stay visible here."""

    target = models.ForeignKey(WebhookTarget, on_delete=models.CASCADE, related_name="calls")
    ticket = models.ForeignKey("tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    rule = models.CharField(_("rule"), max_length=255, blank=True)
    payload = models.JSONField(_("payload"))
    status = models.CharField(
        _("status"), max_length=10, choices=WebhookCallStatus.choices, default=WebhookCallStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_response_code = models.PositiveSmallIntegerField(_("last response code"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("rule webhook call")
        verbose_name_plural = _("rule webhook calls")
        indexes = [
            models.Index(fields=["next_attempt_at"], name="automation_webhook_due", condition=Q(status="pending"))
        ]

    def __str__(self) -> str:
        return f"{self.target} ({self.status})"
