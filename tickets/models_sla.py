"""Business hours and SLA data: calendars, policies with targets, per-ticket clocks and the
SLA ledger. The arithmetic lives in `tickets.sla.calendars`, the writes in
`tickets.sla.services`; these models hold fields, constraints and validation only.

Imported at the end of `tickets.models`, so `Ticket` and friends already exist here.
"""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Channel, Organization, Team, Ticket, TicketPriority, Tier

__all__ = [
    "BusinessCalendar",
    "BusinessHoliday",
    "BusinessInterval",
    "SlaClock",
    "SlaClockState",
    "SlaLedgerEntry",
    "SlaLedgerKind",
    "SlaMetric",
    "SlaPolicy",
    "SlaTarget",
    "Weekday",
]


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class BusinessCalendar(models.Model):
    """Business hours: a time zone, weekly intervals and days off."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", help_text=_("IANA name, e.g. Europe/Berlin.")
    )
    holiday_country = models.CharField(
        _("public holidays of country"),
        max_length=3,
        blank=True,
        help_text=_("ISO 3166 code such as GB or BR; empty for no public holidays."),
    )
    holiday_subdivision = models.CharField(
        _("region"),
        max_length=10,
        blank=True,
        help_text=_("Optional subdivision code, e.g. SCT for Scotland, SP for São Paulo."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("business hours calendar")
        verbose_name_plural = _("business hours calendars")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        if self.time_zone not in zoneinfo.available_timezones():
            errors["time_zone"] = _("%(zone)s is not an IANA time zone.") % {"zone": self.time_zone}
        self.holiday_country = self.holiday_country.strip().upper()
        self.holiday_subdivision = self.holiday_subdivision.strip().upper()
        if self.holiday_country:
            import holidays

            supported = holidays.list_supported_countries()
            if self.holiday_country not in supported:
                errors["holiday_country"] = _("The holidays package knows no country %(code)s.") % {
                    "code": self.holiday_country
                }
            elif self.holiday_subdivision and self.holiday_subdivision not in supported[self.holiday_country]:
                errors["holiday_subdivision"] = _("%(country)s has no region %(code)s.") % {
                    "country": self.holiday_country,
                    "code": self.holiday_subdivision,
                }
        elif self.holiday_subdivision:
            errors["holiday_subdivision"] = _("A region needs a country.")
        if errors:
            raise ValidationError(errors)


class BusinessInterval(models.Model):
    """Open from `start_time` to `end_time` on `weekday`; an end at or before the start
    means the interval runs past midnight into the next day (22:00 - 06:00)."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="intervals")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start_time = models.TimeField(_("from"))
    end_time = models.TimeField(_("until"), help_text=_("At or before the start: the next day."))

    class Meta:
        ordering = ["calendar", "weekday", "start_time"]
        verbose_name = _("business hours interval")
        verbose_name_plural = _("business hours intervals")

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}-{self.end_time:%H:%M}"

    @property
    def crosses_midnight(self) -> bool:
        return self.end_time <= self.start_time


class BusinessHoliday(models.Model):
    """A calendar's own day off, on top of the country's public holidays."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        ordering = ["calendar", "date"]
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="businessholiday_unique_date")]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}".strip()


class SlaMetric(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response")
    NEXT_RESPONSE = "next_response", _("Next response")
    PERIODIC_UPDATE = "periodic_update", _("Periodic update")
    RESOLUTION = "resolution", _("Resolution")


def _list_of(choices: type[models.TextChoices], value: object, label: str) -> None:
    if not isinstance(value, list) or any(v not in choices.values for v in value):
        raise ValidationError(
            _("%(label)s must be a list of: %(allowed)s.") % {"label": label, "allowed": ", ".join(choices.values)}
        )


class SlaPolicy(models.Model):
    """Promises for the tickets its conditions match. Conditions left empty match anything;
    the first active policy by position that matches a ticket applies to it."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    position = models.PositiveIntegerField(_("position"), default=0, help_text=_("Lower positions are tried first."))
    is_active = models.BooleanField(_("active"), default=True)

    priorities = models.JSONField(_("priorities"), default=list, blank=True, help_text=_("Empty: any priority."))
    tiers = models.JSONField(_("customer tiers"), default=list, blank=True, help_text=_("Empty: any tier."))
    channels = models.JSONField(_("channels"), default=list, blank=True, help_text=_("Empty: any channel."))
    organizations = models.ManyToManyField(
        Organization, verbose_name=_("organizations"), blank=True, related_name="sla_policies"
    )
    teams = models.ManyToManyField(Team, verbose_name=_("teams"), blank=True, related_name="sla_policies")

    calendar = models.ForeignKey(
        BusinessCalendar,
        verbose_name=_("business hours"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="policies",
        help_text=_("Targets in business time count in these hours; empty: every target counts calendar time."),
    )
    warn_before_minutes = models.PositiveIntegerField(
        _("warn before breach (minutes)"), default=30, help_text=_("0: no warning.")
    )
    breach_raise_priority = models.BooleanField(_("raise priority on breach"), default=False)
    breach_reassign_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reassign on breach to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        _list_of(TicketPriority, self.priorities, str(_("Priorities")))
        _list_of(Tier, self.tiers, str(_("Customer tiers")))
        _list_of(Channel, self.channels, str(_("Channels")))


class SlaTarget(models.Model):
    """One promise of a policy: e.g. first response within 4 business hours. A target with
    an empty priority applies to every priority the policy has no specific target for."""

    policy = models.ForeignKey(SlaPolicy, on_delete=models.CASCADE, related_name="targets")
    metric = models.CharField(_("metric"), max_length=20, choices=SlaMetric.choices)
    priority = models.CharField(
        _("priority"), max_length=10, choices=TicketPriority.choices, blank=True, help_text=_("Empty: any priority.")
    )
    minutes = models.PositiveIntegerField(_("within (minutes)"))
    business_hours = models.BooleanField(
        _("in business hours"), default=True, help_text=_("Off: counts calendar time, day and night.")
    )

    class Meta:
        ordering = ["policy", "metric", "priority"]
        verbose_name = _("SLA target")
        verbose_name_plural = _("SLA targets")
        constraints = [
            models.UniqueConstraint(fields=["policy", "metric", "priority"], name="slatarget_unique_metric_priority"),
            models.CheckConstraint(condition=Q(minutes__gt=0), name="slatarget_minutes_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.get_metric_display()} {self.minutes} min"


class SlaClockState(models.TextChoices):
    RUNNING = "running", _("Running")
    PAUSED = "paused", _("Paused")
    FULFILLED = "fulfilled", _("Fulfilled")
    STOPPED = "stopped", _("Stopped")


class SlaClock(models.Model):
    """The live timer of one metric on one ticket. `due_at` is set while it runs; the sweep
    finds due clocks through the partial indexes, so a breached clock is never looked at
    again. `cycle` counts activations (next response and periodic update start over after
    each reply). Business time already used is `elapsed` plus the time since
    `running_since`, counted in `calendar` (none: calendar time)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_clocks")
    metric = models.CharField(_("metric"), max_length=20, choices=SlaMetric.choices)
    cycle = models.PositiveIntegerField(_("cycle"), default=1)
    state = models.CharField(_("state"), max_length=10, choices=SlaClockState.choices)
    policy = models.ForeignKey(SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    target_minutes = models.PositiveIntegerField(_("target (minutes)"))
    calendar = models.ForeignKey(BusinessCalendar, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(_("started"))
    running_since = models.DateTimeField(_("running since"), null=True, blank=True)
    elapsed = models.DurationField(_("time used before running_since"))
    paused_at = models.DateTimeField(_("paused"), null=True, blank=True)
    paused_status = models.CharField(_("paused while"), max_length=20, blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    warn_at = models.DateTimeField(_("warn at"), null=True, blank=True)
    warned_at = models.DateTimeField(_("warned"), null=True, blank=True)
    breached_at = models.DateTimeField(_("breached"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    class Meta:
        verbose_name = _("SLA clock")
        verbose_name_plural = _("SLA clocks")
        constraints = [models.UniqueConstraint(fields=["ticket", "metric"], name="slaclock_unique_ticket_metric")]
        indexes = [
            models.Index(
                fields=["due_at"], name="slaclock_due", condition=Q(state="running", breached_at__isnull=True)
            ),
            models.Index(
                fields=["warn_at"],
                name="slaclock_warn",
                condition=Q(state="running", warned_at__isnull=True, breached_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_metric_display()} on ticket {self.ticket_id}: {self.state}"


class SlaLedgerKind(models.TextChoices):
    ACTIVATED = "activated", _("Activated")
    PAUSED = "paused", _("Paused")
    RESUMED = "resumed", _("Resumed")
    RECALCULATED = "recalculated", _("Recalculated")
    WARNED = "warned", _("Warned")
    BREACHED = "breached", _("Breached")
    FULFILLED = "fulfilled", _("Fulfilled")
    STOPPED = "stopped", _("Stopped")


class SlaLedgerEntry(models.Model):
    """One SLA transition of one ticket, for the explanation and for reports. A clock is
    warned and breached at most once per cycle, enforced by the database."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_ledger")
    metric = models.CharField(_("metric"), max_length=20, choices=SlaMetric.choices)
    cycle = models.PositiveIntegerField(_("cycle"), default=1)
    kind = models.CharField(_("kind"), max_length=20, choices=SlaLedgerKind.choices)
    at = models.DateTimeField(_("time"))
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    policy = models.ForeignKey(SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    details = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("SLA ledger entry")
        verbose_name_plural = _("SLA ledger")
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "metric", "cycle", "kind"],
                name="slaledger_once_per_cycle",
                condition=Q(kind__in=["warned", "breached"]),
            ),
        ]
        indexes = [
            models.Index(fields=["ticket", "at"], name="slaledger_ticket_at"),
            models.Index(fields=["kind", "at"], name="slaledger_kind_at"),
        ]

    def __str__(self) -> str:
        return f"{self.metric} {self.kind} at {self.at:%Y-%m-%d %H:%M}"
