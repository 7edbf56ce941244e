"""Routing rules, per-team assignment settings, agent skills and schedules, the record that a
ticket was routed, and chat offers. Fields, constraints and validation only: the writes live
in `tickets.routing.services`."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.models import AgentProfile, Channel, Organization, Team, Ticket, TicketPriority, Tier
from tickets.models_sla import BusinessCalendar


class TagMatch(models.TextChoices):
    ANY = "any", _("Any of the tags")
    ALL = "all", _("All of the tags")


def _clean_names(value: object, label: str) -> list[str]:
    if not isinstance(value, list) or any(not isinstance(v, str) for v in value):
        raise ValidationError(_("%(label)s must be a list of words.") % {"label": label})
    return sorted({" ".join(v.split()).lower() for v in value if v and v.strip()})


def _check_choices(value: object, choices: type[models.TextChoices], label: str) -> None:
    if not isinstance(value, list) or any(v not in choices.values for v in value):
        raise ValidationError(
            _("%(label)s must be a list of: %(allowed)s.") % {"label": label, "allowed": ", ".join(choices.values)}
        )


class RoutingRule(models.Model):
    """When a new ticket matches every condition given (an empty condition matches anything),
    the actions apply. Rules are tried by position; a matching rule with "stop" set ends the
    evaluation, otherwise later matching rules apply too (and override team and priority)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    position = models.PositiveIntegerField(_("position"), default=0, help_text=_("Lower positions are tried first."))
    is_active = models.BooleanField(_("active"), default=True)
    stop_processing = models.BooleanField(
        _("stop after this rule"), default=True, help_text=_("When it matches, no later rule is tried.")
    )

    # Conditions
    channels = models.JSONField(_("channels"), default=list, blank=True, help_text=_("Empty: any channel."))
    keywords = models.JSONField(
        _("keywords"),
        default=list,
        blank=True,
        help_text=_("Any of these words or phrases in the subject or first message (whole words, any case)."),
    )
    languages = models.JSONField(_("languages"), default=list, blank=True, help_text=_("Empty: any language."))
    tiers = models.JSONField(_("customer tiers"), default=list, blank=True, help_text=_("Empty: any tier."))
    organizations = models.ManyToManyField(
        Organization, verbose_name=_("organizations"), blank=True, related_name="routing_rules"
    )
    tags = models.JSONField(_("tags"), default=list, blank=True, help_text=_("Tags the ticket already has."))
    tags_match = models.CharField(_("tags must match"), max_length=3, choices=TagMatch.choices, default=TagMatch.ANY)

    # Actions
    set_team = models.ForeignKey(
        Team, verbose_name=_("set team"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_priority = models.CharField(_("set priority"), max_length=10, choices=TicketPriority.choices, blank=True)
    add_tags = models.JSONField(_("add tags"), default=list, blank=True)
    require_skills = models.JSONField(
        _("require skills"), default=list, blank=True, help_text=_("Names of skills the assignee must have.")
    )

    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        indexes = [models.Index(fields=["is_active", "position"], name="routingrule_active_position")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, object] = {}
        for name, choices, label in (
            ("channels", Channel, _("Channels")),
            ("tiers", Tier, _("Customer tiers")),
        ):
            try:
                _check_choices(getattr(self, name), choices, str(label))
            except ValidationError as exc:
                errors[name] = exc
        languages = dict(settings.LANGUAGES)
        if not isinstance(self.languages, list) or any(v not in languages for v in self.languages):
            errors["languages"] = _("Languages must be a list of: %(allowed)s.") % {"allowed": ", ".join(languages)}
        for name, label in (
            ("keywords", _("Keywords")),
            ("tags", _("Tags")),
            ("add_tags", _("Tags to add")),
            ("require_skills", _("Skills")),
        ):
            try:
                setattr(self, name, _clean_names(getattr(self, name), str(label)))
            except ValidationError as exc:
                errors[name] = exc
        if errors:
            raise ValidationError(errors)
        if not (self.set_team_id or self.set_priority or self.add_tags or self.require_skills):
            raise ValidationError(_("A rule needs at least one action: a team, a priority, tags or skills."))

    def keyword_pattern(self) -> re.Pattern[str] | None:
        """One pattern matching any keyword as a whole word (or phrase), ignoring case."""
        if not self.keywords:
            return None
        words = "|".join(r"\s+".join(re.escape(part) for part in k.split()) for k in self.keywords)
        return re.compile(rf"(?<!\w)(?:{words})(?!\w)", re.IGNORECASE)


class AssignmentStrategy(models.TextChoices):
    NONE = "none", _("None (team queue only)")
    ROUND_ROBIN = "round_robin", _("Round-robin")
    LEAST_LOADED = "least_loaded", _("Least loaded")
    SKILLS = "skills", _("By skills")


class TeamAssignment(models.Model):
    """How a team's new tickets find an agent. Its row is also the lock that serialises
    assignments within the team and holds the round-robin pointer."""

    team = models.OneToOneField(Team, verbose_name=_("team"), on_delete=models.CASCADE, related_name="assignment")
    strategy = models.CharField(
        _("strategy"), max_length=20, choices=AssignmentStrategy.choices, default=AssignmentStrategy.NONE
    )
    is_active = models.BooleanField(_("assign automatically"), default=True)
    chat_offer_minutes = models.PositiveSmallIntegerField(
        _("minutes to accept a chat"),
        default=2,
        help_text=_("A chat offered to an agent goes to the next agent when not accepted within this time."),
    )
    round_robin_last = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("last agent in the rotation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        ordering = ["team__name"]
        verbose_name = _("team assignment")
        verbose_name_plural = _("team assignments")
        indexes = [models.Index(fields=["is_active", "strategy"], name="teamassignment_active")]

    def __str__(self) -> str:
        return f"{self.team}: {self.get_strategy_display()}"

    def clean(self) -> None:
        if self.chat_offer_minutes < 1:
            raise ValidationError({"chat_offer_minutes": _("Give an agent at least one minute to accept a chat.")})

    @property
    def assigns(self) -> bool:
        return self.is_active and self.strategy != AssignmentStrategy.NONE


class Skill(models.Model):
    """Something an agent is good at. A ticket requires a skill when it carries a tag of the
    same name or a routing rule required it."""

    name = models.CharField(_("name"), max_length=64, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("skill")
        verbose_name_plural = _("skills")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.name = " ".join(self.name.split()).lower()
        super().save(*args, **kwargs)


class AgentSkill(models.Model):
    agent = models.ForeignKey(AgentProfile, verbose_name=_("agent"), on_delete=models.CASCADE, related_name="skills")
    skill = models.ForeignKey(Skill, verbose_name=_("skill"), on_delete=models.CASCADE, related_name="agents")
    level = models.PositiveSmallIntegerField(
        _("level"), default=3, help_text=_("1 (basic) to 5 (expert); higher wins a tie.")
    )

    class Meta:
        ordering = ["agent", "skill"]
        verbose_name = _("agent skill")
        verbose_name_plural = _("agent skills")
        constraints = [
            models.UniqueConstraint(fields=["agent", "skill"], name="agentskill_unique"),
            models.CheckConstraint(condition=Q(level__gte=1, level__lte=5), name="agentskill_level_1_5"),
        ]

    def __str__(self) -> str:
        return f"{self.agent.user.get_username()}: {self.skill} ({self.level})"


class AgentSchedule(models.Model):
    """An agent's working hours for assignment (none: always within hours) and when they were
    last given a ticket (least-loaded breaks ties by who waited longest)."""

    agent = models.OneToOneField(
        AgentProfile, verbose_name=_("agent"), on_delete=models.CASCADE, related_name="schedule"
    )
    calendar = models.ForeignKey(
        BusinessCalendar,
        verbose_name=_("working hours"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="agent_schedules",
        help_text=_("Empty: assignable at any time while available."),
    )
    last_assigned_at = models.DateTimeField(_("last assigned"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("agent schedule")
        verbose_name_plural = _("agent schedules")

    def __str__(self) -> str:
        return f"{self.agent.user.get_username()}: {self.calendar or _('any time')}"


class TicketRoute(models.Model):
    """The record that routing ran for a ticket (exactly once) and what it decided."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="route")
    routed_at = models.DateTimeField(_("routed"), default=timezone.now)
    rules = models.JSONField(_("matched rules"), default=list, blank=True)
    required_skills = models.JSONField(_("required skills"), default=list, blank=True)

    class Meta:
        verbose_name = _("ticket route")
        verbose_name_plural = _("ticket routes")

    def __str__(self) -> str:
        return f"#{self.ticket.number} routed {self.routed_at:%Y-%m-%d %H:%M}"


class OfferState(models.TextChoices):
    OFFERED = "offered", _("Offered")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    EXPIRED = "expired", _("Expired")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class ChatOffer(models.Model):
    """A chat offered to one agent, who must accept before `expires_at`."""

    ticket = models.ForeignKey(Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="chat_offers")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("agent"), on_delete=models.CASCADE, related_name="chat_offers"
    )
    state = models.CharField(_("state"), max_length=10, choices=OfferState.choices, default=OfferState.OFFERED)
    offered_at = models.DateTimeField(_("offered"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)

    class Meta:
        ordering = ["-offered_at", "-id"]
        verbose_name = _("chat offer")
        verbose_name_plural = _("chat offers")
        constraints = [
            # A ticket is offered to one agent at a time.
            models.UniqueConstraint(
                fields=["ticket"], condition=Q(state="offered"), name="chatoffer_one_open_per_ticket"
            ),
        ]
        indexes = [
            models.Index(fields=["expires_at"], name="chatoffer_open_expires", condition=Q(state="offered")),
            models.Index(fields=["agent", "state"], name="chatoffer_agent_state"),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket.number} -> {self.agent.get_username()} ({self.state})"
