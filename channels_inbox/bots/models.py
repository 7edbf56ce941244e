"""Configurable automatic answers (see services.py for how a message meets them)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.models import Channel

BOT_CHANNELS = (Channel.SMS, Channel.WHATSAPP, Channel.TELEGRAM, Channel.MESSENGER, Channel.INSTAGRAM, Channel.CHAT)


class FlowKind(models.TextChoices):
    KEYWORD = "keyword", _("Keyword -> automatic reply")
    CONFIRMATION = "confirmation", _("Yes/no confirmation (e.g. an appointment)")
    ORDER_STATUS = "order_status", _("Order status look-up")


def default_channels() -> list[str]:
    return [Channel.SMS]


class Flow(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=FlowKind.choices, default=FlowKind.KEYWORD)
    keywords = models.CharField(
        _("keywords"),
        max_length=255,
        blank=True,
        help_text=_(
            "Comma-separated; a message whose first word is one of them (any case) starts the flow, "
            'e.g. "HOURS, OPEN". Not used by confirmations.'
        ),
    )
    reply_text = models.TextField(
        _("reply"),
        blank=True,
        help_text=_(
            "Keyword: the answer. Order status: the answer, with {order} and any field of the endpoint's "
            'JSON answer in braces, e.g. "Order {order}: {status}". Confirmation: the question sent.'
        ),
    )
    yes_reply = models.TextField(_("answer to YES"), blank=True)
    no_reply = models.TextField(_("answer to NO"), blank=True)
    endpoint_url = models.URLField(
        _("order status endpoint"),
        blank=True,
        help_text=_('GET, with {order} replaced by the order number; must answer JSON, e.g. {"status": "shipped"}.'),
    )
    channels = models.JSONField(_("channels"), default=default_channels, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("automatic answer flow")
        verbose_name_plural = _("automatic answer flows")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        unknown = sorted(set(self.channels or []) - {str(c) for c in BOT_CHANNELS})
        if unknown:
            raise ValidationError({"channels": _("Not a messaging channel: %(c)s.") % {"c": ", ".join(unknown)}})
        if self.kind in (FlowKind.KEYWORD, FlowKind.ORDER_STATUS) and not self.keyword_list:
            raise ValidationError({"keywords": _("Give at least one keyword.")})
        if self.kind == FlowKind.KEYWORD and not self.reply_text.strip():
            raise ValidationError({"reply_text": _("Give the reply to send.")})
        if self.kind == FlowKind.ORDER_STATUS and "{order}" not in self.endpoint_url:
            raise ValidationError({"endpoint_url": _("The endpoint needs {order} where the order number goes.")})
        if self.kind == FlowKind.CONFIRMATION and not (self.yes_reply.strip() and self.no_reply.strip()):
            raise ValidationError(_("A confirmation needs both an answer to YES and an answer to NO."))

    @property
    def keyword_list(self) -> list[str]:
        return [word.strip().upper() for word in self.keywords.split(",") if word.strip()]


class ConfirmationState(models.TextChoices):
    PENDING = "pending", _("Waiting for an answer")
    YES = "yes", _("Confirmed")
    NO = "no", _("Declined")
    EXPIRED = "expired", _("No answer in time")


class Confirmation(models.Model):
    """A yes/no question sent to a customer, waiting for (or holding) their answer."""

    flow = models.ForeignKey(Flow, verbose_name=_("flow"), on_delete=models.PROTECT, related_name="confirmations")
    ticket = models.ForeignKey("tickets.Ticket", verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(
        "tickets.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+"
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    question = models.ForeignKey(
        "tickets.Message", verbose_name=_("question"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    subject = models.CharField(_("about"), max_length=255, blank=True, help_text=_("e.g. the appointment's date."))
    state = models.CharField(
        _("state"), max_length=10, choices=ConfirmationState.choices, default=ConfirmationState.PENDING
    )
    answer = models.ForeignKey(
        "tickets.Message", verbose_name=_("answer"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("asked by"), null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(_("asked"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("confirmation")
        verbose_name_plural = _("confirmations")
        indexes = [
            models.Index(
                fields=["customer", "channel", "created_at"],
                name="confirmation_pending",
                condition=Q(state="pending"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.flow} #{self.ticket_id} ({self.state})"


class FlowRun(models.Model):
    """One inbound message looked at by the flows, once: what happened (nothing, a reply,
    a recorded answer, a failed look-up). Unique per message, so a message handled twice
    (a replay, a redelivered task) is answered once."""

    message = models.OneToOneField(
        "tickets.Message", verbose_name=_("message"), on_delete=models.CASCADE, related_name="+"
    )
    flow = models.ForeignKey(Flow, verbose_name=_("flow"), null=True, blank=True, on_delete=models.SET_NULL)
    outcome = models.CharField(_("outcome"), max_length=30)
    detail = models.TextField(_("detail"), blank=True)
    reply = models.ForeignKey(
        "tickets.Message", verbose_name=_("reply"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("flow run")
        verbose_name_plural = _("flow runs")

    def __str__(self) -> str:
        return f"{self.outcome} ({self.message_id})"
