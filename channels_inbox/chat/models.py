"""Live chat: visitors (remembered by a signed token), chat sessions on a ticket, and the
agents' chat status (online in the console, own chat limit). Fields and constraints only."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.models import Customer, Ticket


class ChatVisitor(models.Model):
    """A browser that opened the widget. `key` is the value of its chat Identity; the browser
    holds it signed (see services.visitor_token), so it cannot be guessed or forged."""

    key = models.CharField(_("key"), max_length=64, unique=True)
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(_("name"), max_length=200, blank=True)
    email = models.EmailField(_("email"), blank=True)
    language = models.CharField(_("language"), max_length=10, default="en")
    connections = models.PositiveIntegerField(_("open connections"), default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last seen"), default=timezone.now)

    class Meta:
        verbose_name = _("chat visitor")
        verbose_name_plural = _("chat visitors")

    def __str__(self) -> str:
        return self.name or self.email or self.key[:10]


class ChatState(models.TextChoices):
    BOT = "bot", _("With the bot")
    WAITING = "waiting", _("Waiting for an agent")
    ACTIVE = "active", _("With an agent")
    OFFLINE = "offline", _("Left as a ticket (offline)")
    ENDED = "ended", _("Ended")


OPEN_CHAT_STATES = (ChatState.BOT, ChatState.WAITING, ChatState.ACTIVE, ChatState.OFFLINE)


class ChatSession(models.Model):
    visitor = models.ForeignKey(
        ChatVisitor, verbose_name=_("visitor"), on_delete=models.CASCADE, related_name="sessions"
    )
    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), null=True, blank=True, on_delete=models.SET_NULL, related_name="chat_sessions"
    )
    state = models.CharField(_("state"), max_length=10, choices=ChatState.choices, default=ChatState.BOT)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    page_url = models.CharField(_("page"), max_length=500, blank=True)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    accepted_at = models.DateTimeField(_("taken by an agent"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    ended_by = models.CharField(_("ended by"), max_length=10, blank=True)
    visitor_read_at = models.DateTimeField(_("read by the visitor"), null=True, blank=True)
    agent_read_at = models.DateTimeField(_("read by the agent"), null=True, blank=True)
    survey_id = models.BigIntegerField(_("rating survey"), null=True, blank=True)
    followup_sent = models.BooleanField(_("email follow-up sent"), default=False)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("chat")
        verbose_name_plural = _("chats")
        constraints = [
            models.UniqueConstraint(
                fields=["visitor"], condition=~Q(state="ended"), name="chat_one_open_session_per_visitor"
            )
        ]
        indexes = [models.Index(fields=["state", "started_at"], name="chat_state_started")]

    def __str__(self) -> str:
        return f"chat {self.pk} ({self.state})"


class ChatAgentStatus(models.Model):
    """An agent's chat console: how many of its sockets are open (online), and their own limit
    of chats at once (0: CHAT_MAX_CHATS_PER_AGENT)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("agent"), on_delete=models.CASCADE, related_name="chat_status"
    )
    max_chats = models.PositiveSmallIntegerField(
        _("chats at once"), default=0, help_text=_("0: the default (CHAT_MAX_CHATS_PER_AGENT).")
    )
    connections = models.PositiveIntegerField(_("open consoles"), default=0)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)

    class Meta:
        verbose_name = _("agent chat status")
        verbose_name_plural = _("agent chat statuses")

    def __str__(self) -> str:
        return str(self.user)
