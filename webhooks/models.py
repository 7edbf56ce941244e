"""Webhook subscriptions and deliveries.

A delivery is one event sent to one subscription: a row with a status, retried with
exponential backoff by a sweep of `next_attempt_at` (timers are rows). A redelivery is a new
row pointing at the one it repeats."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class WebhookEventType(models.TextChoices):
    TICKET_CREATED = "ticket.created", _("Ticket created")
    TICKET_UPDATED = "ticket.updated", _("Ticket updated")
    TICKET_SOLVED = "ticket.solved", _("Ticket solved")
    MESSAGE_CREATED = "message.created", _("Message created")
    CUSTOMER_CREATED = "customer.created", _("Customer created")
    CUSTOMER_MERGED = "customer.merged", _("Customer merged")
    SLA_WARNED = "sla.warned", _("SLA warning")
    SLA_BREACHED = "sla.breached", _("SLA breached")
    SURVEY_ANSWERED = "survey.answered", _("Survey answered")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class WebhookSubscription(models.Model):
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=255, blank=True)
    event_types = models.JSONField(_("event types"), default=list, help_text=_('For example ["ticket.created"].'))
    # Encrypted (webhooks.crypto): signing needs the secret itself, so it cannot be a hash.
    secret_encrypted = models.TextField(_("secret (encrypted)"), editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    failure_count = models.PositiveIntegerField(_("consecutive failed deliveries"), default=0, editable=False)
    disabled_at = models.DateTimeField(_("disabled"), null=True, blank=True, editable=False)
    disabled_reason = models.CharField(_("why disabled"), max_length=255, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")

    def __str__(self) -> str:
        return self.description or self.url

    def wants(self, event_type: str) -> bool:
        return event_type in (self.event_types or [])

    def clean(self) -> None:
        # SSRF guard: no loopback, private or reserved targets (helpdesk/netguard.py).
        from django.core.exceptions import ValidationError

        from helpdesk.netguard import UnsafeURL, url_check

        if self.url:
            try:
                url_check(self.url)
            except UnsafeURL as exc:
                raise ValidationError({"url": str(exc)}) from None


class WebhookDelivery(models.Model):
    subscription = models.ForeignKey(
        WebhookSubscription, verbose_name=_("subscription"), on_delete=models.CASCADE, related_name="deliveries"
    )
    event_type = models.CharField(_("event type"), max_length=50, choices=WebhookEventType.choices)
    # The tickets Event this delivery reports (null for deliveries with no audit event).
    event_id = models.BigIntegerField(_("event id"), null=True, blank=True)
    payload = models.JSONField(_("payload"))
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True, db_index=True)
    last_response_code = models.PositiveSmallIntegerField(_("last response code"), null=True, blank=True)
    last_response_body = models.TextField(_("last response (excerpt)"), blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    redelivery_of = models.ForeignKey(
        "self", verbose_name=_("redelivery of"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            # An event reaches a subscription once (redeliveries aside), even if emitted twice.
            models.UniqueConstraint(
                fields=["subscription", "event_id", "event_type"],
                condition=models.Q(redelivery_of__isnull=True, event_id__isnull=False),
                name="webhookdelivery_unique_event",
            )
        ]
        indexes = [models.Index(fields=["subscription", "-id"], name="webhookdelivery_sub_id")]

    def __str__(self) -> str:
        return f"{self.event_type} #{self.pk} → {self.subscription_id} ({self.status})"
