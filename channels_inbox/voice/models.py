"""Phone calls and the IVR menu.

`Call` is the provider-side state of one Twilio call (filled in from the webhooks as they
arrive, so the worker that logs the call on a ticket sees the whole call); the ticket side is
an ordinary message (inbound call, voicemail, transcription) or an internal note (a call an
agent placed)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

phone_validator = RegexValidator(r"^\+[1-9]\d{4,14}$", _("A phone number in international form, e.g. +14155550100."))


class IvrOption(models.Model):
    """One choice of the phone menu: "press <digit> for <label>" routes the caller to a team,
    and rings `forward_to` (else the default forward number) or goes straight to voicemail."""

    digit = models.CharField(
        _("key"), max_length=1, unique=True, validators=[RegexValidator(r"^[0-9*#]$", _("One key: 0-9, * or #."))]
    )
    label = models.CharField(_("label"), max_length=100, help_text=_('Read to the caller: "for Billing, press 1".'))
    team = models.ForeignKey(
        "tickets.Team", verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    forward_to = models.CharField(
        _("ring this number"),
        max_length=20,
        blank=True,
        validators=[phone_validator],
        help_text=_("Empty: the default forward number (TWILIO_VOICE_FORWARD_TO), else voicemail."),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "digit"]
        verbose_name = _("phone menu option")
        verbose_name_plural = _("phone menu options")

    def __str__(self) -> str:
        return f"{self.digit}: {self.label}"


class CallDirection(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound (placed by an agent)")


# Twilio's final call statuses.
FINAL_STATUSES = ("completed", "busy", "no-answer", "failed", "canceled")


class Call(models.Model):
    call_sid = models.CharField(_("call sid"), max_length=64, unique=True, null=True, blank=True)
    direction = models.CharField(_("direction"), max_length=10, choices=CallDirection.choices)
    from_number = models.CharField(_("from"), max_length=32, blank=True)
    to_number = models.CharField(_("to"), max_length=32, blank=True)
    status = models.CharField(_("status"), max_length=20, blank=True)
    answered = models.BooleanField(_("answered"), default=False)
    dial_status = models.CharField(_("forwarding result"), max_length=20, blank=True)
    duration_seconds = models.PositiveIntegerField(_("duration (seconds)"), null=True, blank=True)
    ivr_digit = models.CharField(_("menu choice"), max_length=8, blank=True)
    team = models.ForeignKey(
        "tickets.Team", verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recording_sid = models.CharField(_("recording sid"), max_length=64, blank=True)
    recording_url = models.URLField(_("recording"), max_length=500, blank=True)
    recording_seconds = models.PositiveIntegerField(_("recording length (seconds)"), null=True, blank=True)
    transcription = models.TextField(_("voicemail transcription"), blank=True)
    # An agent's call: who placed it, from which ticket, which phone of theirs rang first.
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("agent"), null=True, blank=True, on_delete=models.SET_NULL
    )
    agent_phone = models.CharField(_("agent's phone"), max_length=32, blank=True)
    ticket = models.ForeignKey(
        "tickets.Ticket", verbose_name=_("ticket"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.ForeignKey(
        "tickets.Message",
        verbose_name=_("logged as"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    callback_requested = models.BooleanField(_("call-back requested"), default=False)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("phone call")
        verbose_name_plural = _("phone calls")
        indexes = [models.Index(fields=["ticket", "created_at"], name="call_ticket_created")]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.from_number} -> {self.to_number} ({self.status})"

    @property
    def missed(self) -> bool:
        return self.direction == CallDirection.INBOUND and self.status in FINAL_STATUSES and not self.answered
