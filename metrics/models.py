"""Satisfaction (CSAT) and effort (CES) surveys sent after a ticket is solved."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.models import Channel, Customer, Team, Ticket


class SurveyKind(models.TextChoices):
    CSAT = "csat", _("Satisfaction (CSAT, 1-5)")
    CES = "ces", _("Customer effort (CES, 1-7)")


# The answer scale of each kind: (lowest, highest).
SURVEY_SCALES: dict[str, tuple[int, int]] = {SurveyKind.CSAT: (1, 5), SurveyKind.CES: (1, 7)}


class Survey(models.Model):
    """One survey about one solved ticket. Channel, agent and team are copied when the survey
    is issued, so a later reassignment does not move the answer to someone else.

    `key` is random and never shown as such: links carry it signed with the SECRET_KEY
    (metrics.services.survey_token), so a token cannot be guessed or forged."""

    ticket = models.ForeignKey(Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="surveys")
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="surveys"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=SurveyKind.choices, default=SurveyKind.CSAT)
    key = models.CharField(_("key"), max_length=64, unique=True, editable=False)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="surveys",
    )
    team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL, related_name="surveys"
    )
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    score = models.PositiveSmallIntegerField(_("score"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        ordering = ["-sent_at", "-id"]
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        constraints = [
            models.UniqueConstraint(fields=["ticket", "kind"], name="survey_unique_ticket_kind"),
            models.CheckConstraint(
                condition=Q(score__isnull=True)
                | Q(kind=SurveyKind.CSAT, score__gte=1, score__lte=5)
                | Q(kind=SurveyKind.CES, score__gte=1, score__lte=7),
                name="survey_score_in_scale",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-sent_at"], name="survey_customer_sent"),
            models.Index(fields=["kind", "sent_at"], name="survey_kind_sent"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on #{self.ticket.number}"

    @property
    def scale(self) -> tuple[int, int]:
        return SURVEY_SCALES[self.kind]
