"""Metrics data: surveys (CSAT, CES, NPS), daily rollups, goals and quality reviews."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.models import Channel, Customer, Message, Team, Ticket


class SurveyKind(models.TextChoices):
    CSAT = "csat", _("Satisfaction (CSAT, 1-5)")
    CES = "ces", _("Customer effort (CES, 1-7)")
    NPS = "nps", _("Net promoter score (NPS, 0-10)")


# The answer scale of each kind: (lowest, highest).
SURVEY_SCALES: dict[str, tuple[int, int]] = {
    SurveyKind.CSAT: (1, 5),
    SurveyKind.CES: (1, 7),
    SurveyKind.NPS: (0, 10),
}


class InvitationStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    QUEUED = "queued", _("Queued for delivery")
    SKIPPED = "skipped", _("Not sent")


class Survey(models.Model):
    """One survey about one solved ticket. Channel, agent and team are copied when the survey
    is issued, so a later reassignment does not move the answer to someone else.

    The invitation is a timer row: `due_at` is when it goes out (the configured delay after
    solving); the beat task `metrics.survey_invitations_send` queues what is due through
    `tickets.services.tickets.system_message_queue` and links the message here.

    `key` is random and never shown as such: links carry it signed with the SECRET_KEY
    (metrics.services.survey_token), so a token cannot be guessed or forged."""

    ticket = models.ForeignKey(Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="surveys")
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="surveys")
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
    sent_at = models.DateTimeField(_("issued"), default=timezone.now)
    due_at = models.DateTimeField(_("invitation due"), null=True, blank=True)
    invitation_status = models.CharField(
        _("invitation"), max_length=10, choices=InvitationStatus.choices, default=InvitationStatus.SCHEDULED
    )
    invitation_channel = models.CharField(_("invited on"), max_length=20, choices=Channel.choices, blank=True)
    invitation = models.ForeignKey(
        Message,
        verbose_name=_("invitation message"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    invited_at = models.DateTimeField(_("invited"), null=True, blank=True)
    skip_reason = models.CharField(_("why not sent"), max_length=200, blank=True)
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
                | Q(kind=SurveyKind.CES, score__gte=1, score__lte=7)
                | Q(kind=SurveyKind.NPS, score__gte=0, score__lte=10),
                name="survey_score_in_scale",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-sent_at"], name="survey_customer_sent"),
            models.Index(fields=["kind", "sent_at"], name="survey_kind_sent"),
            models.Index(fields=["due_at"], name="survey_invitation_due", condition=Q(invitation_status="scheduled")),
            models.Index(fields=["answered_at"], name="survey_answered"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on #{self.ticket.number}"

    @property
    def scale(self) -> tuple[int, int]:
        return SURVEY_SCALES[self.kind]


class DailyRollup(models.Model):
    """KPI sums of one day for one grouping of the dimensions, written by the
    `metrics.rollups_refresh` task and the `metrics_rollups_rebuild` command.

    `gset` says which dimensions a row is split by (bits: 1 team, 2 agent, 4 channel,
    8 priority, 16 tag); the others are summed over and hold 0 / "". Which groupings are
    stored is `metrics.rollups.STORED_GSETS`: every combination of team, agent, channel and
    priority (15 is the finest row, 0 the day's total) and the tag with them, so every filter
    combination of the dashboard reads the rows of one grouping. Ticket figures count tickets
    *created* that day (their current state); `solved` counts tickets solved that day; survey
    figures count surveys issued that day; h00..h23 count tickets created in each local hour;
    `frt_hist` / `resolution_hist` are histograms {bucket: tickets} of first response and
    resolution times (buckets: `metrics.facts.duration_bucket`). 0 in team_id / agent_id
    means none."""

    day = models.DateField(_("day"))
    gset = models.PositiveSmallIntegerField(_("grouping"), default=15)
    team_id = models.BigIntegerField(_("team"), default=0)
    agent_id = models.BigIntegerField(_("agent"), default=0)
    channel = models.CharField(_("channel"), max_length=20, default="", blank=True)
    priority = models.CharField(_("priority"), max_length=10, default="", blank=True)
    tag_id = models.BigIntegerField(_("tag"), default=0)

    created = models.IntegerField(default=0)
    responded = models.IntegerField(default=0)
    frt_sum = models.FloatField(default=0)
    frt_business_sum = models.FloatField(default=0)
    nrt_count = models.IntegerField(default=0)
    nrt_sum = models.FloatField(default=0)
    resolved = models.IntegerField(default=0)
    resolution_sum = models.FloatField(default=0)
    resolution_business_sum = models.FloatField(default=0)
    reopened = models.IntegerField(default=0)
    one_touch = models.IntegerField(default=0)
    sla_met = models.IntegerField(default=0)
    sla_missed = models.IntegerField(default=0)
    solved = models.IntegerField(default=0)
    csat_answered = models.IntegerField(default=0)
    csat_satisfied = models.IntegerField(default=0)
    ces_answered = models.IntegerField(default=0)
    ces_sum = models.IntegerField(default=0)
    nps_answered = models.IntegerField(default=0)
    nps_promoters = models.IntegerField(default=0)
    nps_detractors = models.IntegerField(default=0)
    unsolved = models.IntegerField(default=0)  # of the tickets created that day, unsolved now
    for _hour in range(24):
        locals()[f"h{_hour:02d}"] = models.IntegerField(default=0)
    del _hour
    frt_hist = models.JSONField(default=dict, blank=True)
    resolution_hist = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("daily rollup")
        verbose_name_plural = _("daily rollups")
        constraints = [
            # Also the index every dashboard read uses: equality on the grouping and the
            # filtered dimensions, then the day range.
            models.UniqueConstraint(
                fields=["gset", "tag_id", "team_id", "agent_id", "channel", "priority", "day"],
                name="dailyrollup_unique_cell",
            )
        ]
        indexes = [
            models.Index(fields=["day"], name="dailyrollup_day"),
            # Reads of the finest tag rows by agent (a tag with an agent and more filters).
            models.Index(fields=["tag_id", "agent_id", "day"], name="dailyrollup_tag_agent", condition=Q(gset=31)),
        ]

    def __str__(self) -> str:
        return f"{self.day} #{self.gset} {self.channel} {self.priority}"


class RollupState(models.Model):
    """One row: the time up to which changes are rolled up (the incremental watermark)."""

    name = models.CharField(max_length=30, unique=True, default="daily")
    watermark = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_days = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"{self.name} up to {self.watermark}"


class GoalKpi(models.TextChoices):
    FRT = "frt", _("First response time (hours, average)")
    NRT = "nrt", _("Next response time (hours, average)")
    RESOLUTION = "resolution", _("Resolution time (hours, average)")
    RESOLUTION_BUSINESS = "resolution_business", _("Resolution time in business hours (average)")
    REOPEN = "reopen", _("Reopen rate (%)")
    FCR = "fcr", _("First-contact resolution (%)")
    SLA = "sla", _("SLA attainment (%)")
    CSAT = "csat", _("CSAT (%)")
    CES = "ces", _("CES (0-100)")
    NPS = "nps", _("NPS (-100 to 100)")
    BACKLOG = "backlog", _("Backlog (tickets)")


# KPIs where a smaller value is better; the rest are better when larger.
LOWER_IS_BETTER = frozenset({"frt", "nrt", "resolution", "resolution_business", "reopen", "ces", "backlog"})


class Goal(models.Model):
    """A target for one KPI (optionally for one team). Status on the dashboard: met when the
    value is at or better than the target; at risk when worse by at most `at_risk_percent` of
    the target; missed beyond that."""

    kpi = models.CharField(_("KPI"), max_length=30, choices=GoalKpi.choices)
    target = models.FloatField(_("target"))
    at_risk_percent = models.PositiveSmallIntegerField(
        _("at risk within (%)"), default=10, help_text=_("How far from the target still counts as at risk.")
    )
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="goals",
        help_text=_("Empty: the goal applies when no team filter is chosen."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["kpi", "team_id"]
        verbose_name = _("goal")
        verbose_name_plural = _("goals")
        constraints = [
            models.UniqueConstraint(fields=["kpi", "team"], name="goal_unique_kpi_team", nulls_distinct=False)
        ]

    def __str__(self) -> str:
        return f"{self.get_kpi_display()}: {self.target:g}"

    @property
    def lower_is_better(self) -> bool:
        return self.kpi in LOWER_IS_BETTER


class Scorecard(models.Model):
    """A quality-review form: weighted criteria each scored 1-5."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    is_default = models.BooleanField(_("default"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["-is_default", "name"]
        verbose_name = _("QA scorecard")
        verbose_name_plural = _("QA scorecards")

    def __str__(self) -> str:
        return self.name


class ScorecardCriterion(models.Model):
    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="criteria")
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("what good looks like"), blank=True)
    weight = models.PositiveSmallIntegerField(_("weight"), default=1)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["scorecard", "position", "id"]
        verbose_name = _("QA criterion")
        verbose_name_plural = _("QA criteria")
        constraints = [
            models.UniqueConstraint(fields=["scorecard", "name"], name="criterion_unique_name"),
            models.CheckConstraint(condition=Q(weight__gt=0), name="criterion_weight_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (x{self.weight})"


QA_SCALE = (1, 5)


class QaReview(models.Model):
    """A reviewer's scores for an agent's replies on one ticket. `score` (0-100) is the
    weighted average of the criteria: sum(weight x (score - 1) / 4) / sum(weight) x 100."""

    ticket = models.ForeignKey(Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="qa_reviews")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("agent"), on_delete=models.CASCADE, related_name="qa_reviews"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewer"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="qa_reviews_given",
    )
    scorecard = models.ForeignKey(Scorecard, verbose_name=_("scorecard"), on_delete=models.PROTECT)
    score = models.FloatField(_("score (0-100)"))
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(_("reviewed"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("QA review")
        verbose_name_plural = _("QA reviews")
        constraints = [
            models.UniqueConstraint(fields=["ticket", "agent", "reviewer"], name="qareview_once_per_reviewer"),
            models.CheckConstraint(condition=Q(score__gte=0, score__lte=100), name="qareview_score_range"),
        ]
        indexes = [models.Index(fields=["agent", "created_at"], name="qareview_agent_created")]

    def __str__(self) -> str:
        return f"QA #{self.ticket_id} {self.score:.0f}"


class QaReviewScore(models.Model):
    review = models.ForeignKey(QaReview, on_delete=models.CASCADE, related_name="scores")
    criterion = models.ForeignKey(ScorecardCriterion, on_delete=models.PROTECT, related_name="+")
    score = models.PositiveSmallIntegerField(_("score"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["review", "criterion"], name="qascore_unique_criterion"),
            models.CheckConstraint(condition=Q(score__gte=1, score__lte=5), name="qascore_range"),
        ]

    def __str__(self) -> str:
        return f"{self.criterion_id}: {self.score}"

    def clean(self) -> None:
        if self.criterion.scorecard_id != self.review.scorecard_id:
            raise ValidationError(_("The criterion belongs to another scorecard."))


class WeeklyReportStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class WeeklyReportSent(models.Model):
    """One weekly KPI report email to one address for one week (Monday to Sunday). The row is
    made before sending and locked while sending, so a task run twice sends once; a failed
    send keeps its error and is tried again by the next run for that week."""

    week_start = models.DateField(_("week starting"))
    email = models.EmailField(_("recipient"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    language = models.CharField(_("language"), max_length=10, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=WeeklyReportStatus.choices, default=WeeklyReportStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-week_start", "email"]
        verbose_name = _("weekly report sent")
        verbose_name_plural = _("weekly reports sent")
        constraints = [
            models.UniqueConstraint(fields=["email", "week_start"], name="weekly_report_unique_email_week"),
        ]

    def __str__(self) -> str:
        return f"{self.email} {self.week_start:%Y-%m-%d}"
