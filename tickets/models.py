"""The help desk's core data model: tickets, messages, customers and who works them.

Models hold fields, constraints and cheap properties only. Every write that matters goes
through `tickets.services`, which records an Event for each change.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce, Least
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    """Every way a message can reach the help desk (and leave it)."""

    EMAIL = "email", _("Email")
    WEB = "web", _("Web form")
    CHAT = "chat", _("Live chat")
    SMS = "sms", _("SMS")
    WHATSAPP = "whatsapp", _("WhatsApp")
    MESSENGER = "messenger", _("Messenger")
    INSTAGRAM = "instagram", _("Instagram")
    TELEGRAM = "telegram", _("Telegram")
    VOICE = "voice", _("Phone")
    API = "api", _("API")
    INTERNAL = "internal", _("Internal")


# Channels where customers write short messages in one running conversation rather than
# separate threads: a new message from a known sender continues their open ticket.
CONVERSATIONAL_CHANNELS = frozenset(
    {
        Channel.CHAT,
        Channel.SMS,
        Channel.WHATSAPP,
        Channel.MESSENGER,
        Channel.INSTAGRAM,
        Channel.TELEGRAM,
        Channel.VOICE,
    }
)


class Tier(models.TextChoices):
    STANDARD = "standard", _("Standard")
    PREMIUM = "premium", _("Premium")
    ENTERPRISE = "enterprise", _("Enterprise")


class Organization(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    tier = models.CharField(_("tier"), max_length=20, choices=Tier.choices, default=Tier.STANDARD)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")

    def __str__(self) -> str:
        return self.name


class OrganizationDomain(models.Model):
    """An email domain whose senders are linked to the organization automatically."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(_("email domain"), max_length=253, unique=True)

    class Meta:
        ordering = ["domain"]
        verbose_name = _("organization domain")
        verbose_name_plural = _("organization domains")

    def __str__(self) -> str:
        return self.domain

    def save(self, *args, **kwargs):
        self.domain = self.domain.strip().lower().lstrip("@")
        super().save(*args, **kwargs)


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("team lead"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="teams_led",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class AgentRole(models.TextChoices):
    ADMIN = "admin", _("Admin")
    MANAGER = "manager", _("Manager")
    AGENT = "agent", _("Agent")
    LIGHT_AGENT = "light_agent", _("Light agent")


class AgentProfile(models.Model):
    """What makes a Django user an agent. The role is mirrored in a Django group of the same
    name, which carries the role's permissions (see tickets.roles)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile")
    role = models.CharField(_("role"), max_length=20, choices=AgentRole.choices, default=AgentRole.AGENT)
    teams = models.ManyToManyField(Team, verbose_name=_("teams"), blank=True, related_name="agents")
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, default="en")
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    signature = models.TextField(_("signature"), blank=True)
    is_available = models.BooleanField(_("available for assignment"), default=True)
    notify_by_email = models.BooleanField(
        _("email me notifications"),
        default=True,
        help_text=_("Also email me when a ticket is assigned to me or a customer replies on one of mine."),
    )
    capacity = models.PositiveSmallIntegerField(
        _("capacity"), default=20, help_text=_("Open tickets this agent can hold at once.")
    )

    class Meta:
        verbose_name = _("agent profile")
        verbose_name_plural = _("agent profiles")

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.get_role_display()})"


class Customer(models.Model):
    name = models.CharField(_("name"), max_length=200, blank=True)
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organization"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customers",
    )
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, default="en")
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    preferred_channel = models.CharField(_("preferred channel"), max_length=20, choices=Channel.choices, blank=True)
    tier = models.CharField(_("tier"), max_length=20, choices=Tier.choices, default=Tier.STANDARD)
    consent_email = models.BooleanField(_("may be emailed"), default=True)
    consent_sms = models.BooleanField(_("may be sent SMS"), default=True)
    consent_whatsapp = models.BooleanField(_("may be sent WhatsApp messages"), default=True)
    consent_marketing = models.BooleanField(_("accepts marketing"), default=False)
    attributes = models.JSONField(
        _("attributes"), default=dict, blank=True, help_text=_("Custom attributes, e.g. set by the API.")
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("portal login"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customer",
    )
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [models.Index(fields=["organization", "name"])]

    def __str__(self) -> str:
        return self.name or _("Customer %(id)s") % {"id": self.pk}


class IdentityKind(models.TextChoices):
    EMAIL = "email", _("Email address")
    PHONE = "phone", _("Phone number")
    WHATSAPP = "whatsapp", _("WhatsApp")
    MESSENGER = "messenger", _("Messenger")
    INSTAGRAM = "instagram", _("Instagram")
    TELEGRAM = "telegram", _("Telegram")
    CHAT = "chat", _("Chat visitor")


class Identity(models.Model):
    """One way to recognise a customer: an address, a number, a provider's user id.

    `value` is normalised (see tickets.identities.normalize) and unique per kind, so a
    sender maps to exactly one customer."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(_("kind"), max_length=20, choices=IdentityKind.choices)
    value = models.CharField(_("value"), max_length=255)
    display = models.CharField(_("as given"), max_length=255, blank=True)
    verified = models.BooleanField(_("verified"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("identity")
        verbose_name_plural = _("identities")
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="identity_unique_kind_value"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.display or self.value}"


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=64, unique=True)
    color = models.CharField(_("colour"), max_length=7, default="#64748b")

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class TicketStatus(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending")
    ON_HOLD = "on_hold", _("On hold")
    SOLVED = "solved", _("Solved")
    CLOSED = "closed", _("Closed")


# Where a ticket may go from each status. Closed is final: a customer writing again about a
# closed ticket opens a follow-up ticket linked to it.
TICKET_TRANSITIONS: dict[str, frozenset[str]] = {
    TicketStatus.NEW: frozenset({TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.ON_HOLD, TicketStatus.SOLVED}),
    TicketStatus.OPEN: frozenset({TicketStatus.PENDING, TicketStatus.ON_HOLD, TicketStatus.SOLVED}),
    TicketStatus.PENDING: frozenset({TicketStatus.OPEN, TicketStatus.ON_HOLD, TicketStatus.SOLVED}),
    TicketStatus.ON_HOLD: frozenset({TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.SOLVED}),
    TicketStatus.SOLVED: frozenset({TicketStatus.OPEN, TicketStatus.CLOSED}),
    TicketStatus.CLOSED: frozenset(),
}

UNSOLVED_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.ON_HOLD)


class TicketPriority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class TicketType(models.TextChoices):
    QUESTION = "question", _("Question")
    INCIDENT = "incident", _("Incident")
    PROBLEM = "problem", _("Problem")
    TASK = "task", _("Task")


# For the expression indexes of the ticket list (see tickets.selectors: the same values).
_PRIORITIES = ("low", "normal", "high", "urgent")
_NO_DEADLINE = datetime.datetime(9999, 12, 31, tzinfo=datetime.UTC)


class Ticket(models.Model):
    number = models.BigIntegerField(_("number"), unique=True, editable=False)
    subject = models.CharField(_("subject"), max_length=255)
    status = models.CharField(_("status"), max_length=20, choices=TicketStatus.choices, default=TicketStatus.NEW)
    priority = models.CharField(
        _("priority"), max_length=10, choices=TicketPriority.choices, default=TicketPriority.NORMAL
    )
    type = models.CharField(_("type"), max_length=20, choices=TicketType.choices, default=TicketType.QUESTION)
    channel = models.CharField(_("channel of origin"), max_length=20, choices=Channel.choices)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, default="en")
    requester = models.ForeignKey(
        Customer, verbose_name=_("requester"), on_delete=models.PROTECT, related_name="tickets"
    )
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organization"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )
    team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="tickets")
    followers = models.ManyToManyField(
        Customer, verbose_name=_("followers"), blank=True, related_name="followed_tickets"
    )
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)

    # SLA deadlines: indexed columns that the SLA sweep scans (issue: SLA engine).
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    next_response_due_at = models.DateTimeField(_("next response due"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)

    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    first_responded_at = models.DateTimeField(_("first responded"), null=True, blank=True)
    last_customer_message_at = models.DateTimeField(_("last customer message"), null=True, blank=True)
    last_agent_message_at = models.DateTimeField(_("last agent message"), null=True, blank=True)
    solved_at = models.DateTimeField(_("solved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merged_tickets",
    )
    follow_up_of = models.ForeignKey(
        "self",
        verbose_name=_("follow-up of"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="follow_ups",
    )

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        permissions = [
            ("view_all_tickets", "Can see tickets of every team"),
            ("reply_publicly", "Can send replies that customers see"),
            ("merge_ticket", "Can merge tickets"),
        ]
        indexes = [
            models.Index(fields=["status", "-updated_at"], name="ticket_status_updated"),
            # The agent's list at scale (bench/): newest change first over every ticket, over
            # unsolved ones, and "Recently solved"; the id makes the keyset order total.
            models.Index(fields=["-updated_at", "-id"], name="ticket_updated_id"),
            models.Index(
                fields=["-updated_at", "-id"],
                name="ticket_unsolved_updated",
                condition=Q(status__in=["new", "open", "pending", "on_hold"]),
            ),
            models.Index(fields=["solved_at"], name="ticket_solved_at", condition=Q(solved_at__isnull=False)),
            # The dashboard's backlog: unsolved, unmerged tickets by creation time.
            models.Index(
                fields=["created_at"],
                name="ticket_backlog_created",
                condition=Q(status__in=["new", "open", "pending", "on_hold"], merged_into__isnull=True),
            ),
            # The unsolved list sorted by priority and by SLA due time: the same expressions as
            # tickets.selectors.ticket_priority_rank() and ticket_due_at(), so the planner walks
            # these instead of sorting every unsolved ticket.
            models.Index(
                models.Case(
                    *[models.When(priority=value, then=models.Value(rank)) for rank, value in enumerate(_PRIORITIES)],
                    default=models.Value(0),
                    output_field=models.IntegerField(),
                ).desc(),
                models.F("updated_at").desc(),
                models.F("id").desc(),
                name="ticket_unsolved_priority",
                condition=Q(status__in=["new", "open", "pending", "on_hold"]),
            ),
            models.Index(
                Least(
                    *[
                        Coalesce(column, models.Value(_NO_DEADLINE))
                        for column in ("first_response_due_at", "next_response_due_at", "resolution_due_at")
                    ]
                ),
                models.F("id"),
                name="ticket_unsolved_due",
                condition=Q(status__in=["new", "open", "pending", "on_hold"]),
            ),
            # The same sorts over every ticket ("All tickets", filtered views): by creation time,
            # priority and SLA due time, each ending in the id the keyset order needs
            # (migration 0011; number sorts on its unique index).
            models.Index(fields=["-created_at", "-id"], name="ticket_created_id"),
            models.Index(
                models.Case(
                    *[models.When(priority=value, then=models.Value(rank)) for rank, value in enumerate(_PRIORITIES)],
                    default=models.Value(0),
                    output_field=models.IntegerField(),
                ).desc(),
                models.F("updated_at").desc(),
                models.F("id").desc(),
                name="ticket_priority_all",
            ),
            models.Index(
                Least(
                    *[
                        Coalesce(column, models.Value(_NO_DEADLINE))
                        for column in ("first_response_due_at", "next_response_due_at", "resolution_due_at")
                    ]
                ),
                models.F("id"),
                name="ticket_due_all",
            ),
            # The sidebar's view counts read only these (index-only scans; migration 0011).
            models.Index(
                fields=[
                    "status",
                    "team",
                    "assignee",
                    "first_response_due_at",
                    "next_response_due_at",
                    "resolution_due_at",
                ],
                name="ticket_unsolved_counts",
                condition=Q(status__in=["new", "open", "pending", "on_hold"]),
            ),
            models.Index(
                fields=["solved_at", "status", "team", "assignee"],
                name="ticket_solved_counts",
                condition=Q(solved_at__isnull=False),
            ),
            models.Index(fields=["assignee", "status", "-updated_at"], name="ticket_assignee_status"),
            models.Index(fields=["team", "status", "-updated_at"], name="ticket_team_status"),
            models.Index(fields=["requester", "-updated_at"], name="ticket_requester_updated"),
            models.Index(fields=["organization", "-updated_at"], name="ticket_org_updated"),
            models.Index(fields=["channel", "-created_at"], name="ticket_channel_created"),
            models.Index(fields=["-created_at"], name="ticket_created"),
            models.Index(
                fields=["first_response_due_at"],
                name="ticket_frt_due",
                condition=Q(first_response_due_at__isnull=False),
            ),
            models.Index(
                fields=["next_response_due_at"],
                name="ticket_nrt_due",
                condition=Q(next_response_due_at__isnull=False),
            ),
            models.Index(
                fields=["resolution_due_at"],
                name="ticket_resolution_due",
                condition=Q(resolution_due_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"

    @property
    def is_unsolved(self) -> bool:
        return self.status in UNSOLVED_STATUSES

    def can_transition_to(self, status: str) -> bool:
        return status in TICKET_TRANSITIONS[self.status]


class CustomFieldType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    CHECKBOX = "checkbox", _("Checkbox")
    CHOICE = "choice", _("Drop-down")


class CustomField(models.Model):
    """Definition of a ticket custom field; values live in Ticket.custom_fields by key."""

    key = models.SlugField(_("key"), max_length=64, unique=True)
    label = models.CharField(_("label"), max_length=100)
    type = models.CharField(_("type"), max_length=20, choices=CustomFieldType.choices, default=CustomFieldType.TEXT)
    choices = models.JSONField(_("choices"), default=list, blank=True, help_text=_("For drop-downs: a list of values."))
    required_to_solve = models.BooleanField(_("required to solve"), default=False)
    visible_to_customers = models.BooleanField(_("visible to customers"), default=False)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "key"]
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")

    def __str__(self) -> str:
        return self.label


class RawInboundStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    PROCESSED = "processed", _("Processed")
    DUPLICATE = "duplicate", _("Duplicate")
    IGNORED = "ignored", _("Ignored")
    FAILED = "failed", _("Failed")


class RawInbound(models.Model):
    """Exactly what a provider sent, kept before anything parses it, so that a parser bug
    can be fixed and the message replayed. One row per (channel, external id): a redelivery
    only raises `deliveries`."""

    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    external_id = models.CharField(_("external id"), max_length=512, null=True, blank=True)
    content_type = models.CharField(_("content type"), max_length=255, blank=True)
    payload = models.BinaryField(_("payload"))
    meta = models.JSONField(_("request details"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=RawInboundStatus.choices, default=RawInboundStatus.RECEIVED
    )
    error = models.TextField(_("error"), blank=True)
    deliveries = models.PositiveIntegerField(_("deliveries"), default=1)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("raw inbound payload")
        verbose_name_plural = _("raw inbound payloads")
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                name="rawinbound_unique_channel_external_id",
                condition=Q(external_id__isnull=False),
            ),
        ]
        indexes = [models.Index(fields=["status", "received_at"], name="rawinbound_status")]

    def __str__(self) -> str:
        return f"{self.channel} {self.external_id or self.pk} ({self.status})"


class MessageDirection(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")


class AuthorKind(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    AGENT = "agent", _("Agent")
    SYSTEM = "system", _("System")
    BOT = "bot", _("Bot")


class DeliveryStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    READ = "read", _("Read")
    FAILED = "failed", _("Failed")
    NOT_SENT = "not_sent", _("Not sent (internal)")


class Message(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(_("direction"), max_length=10, choices=MessageDirection.choices)
    author_kind = models.CharField(_("author kind"), max_length=10, choices=AuthorKind.choices)
    author_customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body_text = models.TextField(_("text"), blank=True)
    body_html = models.TextField(_("HTML (sanitised)"), blank=True)
    is_internal = models.BooleanField(_("internal note"), default=False)
    external_id = models.CharField(_("external id"), max_length=512, null=True, blank=True)
    delivery_status = models.CharField(
        _("delivery status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.RECEIVED
    )
    delivery_error = models.TextField(_("delivery error"), blank=True)
    delivery_attempts = models.PositiveSmallIntegerField(_("delivery attempts"), default=0)
    raw = models.ForeignKey(RawInbound, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages")
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                name="message_unique_channel_external_id",
                condition=Q(external_id__isnull=False),
            ),
        ]
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="message_ticket_created"),
            models.Index(
                fields=["delivery_status", "created_at"],
                name="message_outbound_pending",
                condition=Q(delivery_status__in=["queued", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.channel} message on #{self.ticket.number}"


class TicketSearchDocument(models.Model):
    """The words of a ticket for the agent's search: one stored full-text vector of its subject
    and every message text (internal notes included), GIN-indexed, with a copy of the ticket's
    team and assignee. Written only by PostgreSQL triggers (tickets migration 0010), whatever
    changes a ticket or its messages; the application never saves it. A table of its own keeps
    ticket rows narrow. Empty on SQLite, where the search matches substrings."""

    ticket = models.OneToOneField(Ticket, primary_key=True, on_delete=models.CASCADE, related_name="search_document")
    document = SearchVectorField(null=True, editable=False)
    # Copies of the ticket's, for ticket_visibility_q inside this table (see ticket_search).
    team = models.ForeignKey(
        Team, null=True, editable=False, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        editable=False,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )

    class Meta:
        verbose_name = _("ticket search document")
        verbose_name_plural = _("ticket search documents")
        indexes = [GinIndex(fields=["document"], name="ticket_search_document")]

    def __str__(self) -> str:
        return f"Search document of ticket {self.ticket_id}"


def attachment_upload_to(instance: Attachment, filename: str) -> str:
    # Content-addressed path: the same file uploaded twice is stored under the same name.
    return f"attachments/{instance.sha256[:2]}/{instance.sha256}"


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to=attachment_upload_to, max_length=255, blank=True)
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=255, default="application/octet-stream")
    size = models.PositiveBigIntegerField(_("size in bytes"), default=0)
    sha256 = models.CharField(_("SHA-256 checksum"), max_length=64)
    inline = models.BooleanField(_("inline"), default=False)
    content_id = models.CharField(_("content id"), max_length=255, blank=True)
    stored = models.BooleanField(
        _("stored"), default=True, help_text=_("False when the file was refused (too large) and only noted.")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.filename


class Macro(models.Model):
    """A canned response plus field changes an agent applies in one click.

    `body` may use placeholders such as {{ ticket.number }} and {{ customer.name }};
    `actions` is a list of {"field": ..., "value": ...} changes (status, priority, team,
    assignee, add_tags, remove_tags)."""

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    body = models.TextField(_("reply text"), blank=True)
    actions = models.JSONField(_("actions"), default=list, blank=True)
    team = models.ForeignKey(
        Team,
        verbose_name=_("available to team"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        help_text=_("Empty: available to everyone."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    usage_count = models.PositiveIntegerField(_("times used"), default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("macro")
        verbose_name_plural = _("macros")

    def __str__(self) -> str:
        return self.name


class ActorKind(models.TextChoices):
    AGENT = "agent", _("Agent")
    CUSTOMER = "customer", _("Customer")
    SYSTEM = "system", _("System")
    API = "api", _("API")


class Event(models.Model):
    """The audit log: one row per change, who made it, what it was and what it became."""

    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    object_type = models.CharField(_("object type"), max_length=50)
    object_id = models.BigIntegerField(_("object id"))
    verb = models.CharField(_("verb"), max_length=50)
    field = models.CharField(_("field"), max_length=64, blank=True)
    old_value = models.JSONField(_("old value"), null=True, blank=True)
    new_value = models.JSONField(_("new value"), null=True, blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    actor_kind = models.CharField(_("actor kind"), max_length=10, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("event")
        verbose_name_plural = _("events")
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="event_ticket_created"),
            models.Index(fields=["object_type", "object_id", "created_at"], name="event_object"),
        ]

    def __str__(self) -> str:
        target = f"{self.object_type} {self.object_id}"
        if self.field:
            return f"{target}: {self.verb} {self.field} {self.old_value!r} -> {self.new_value!r}"
        return f"{target}: {self.verb}"


class TicketNumberCounter(models.Model):
    """Hands out ticket numbers on databases without sequences (SQLite). On PostgreSQL the
    sequence `tickets_ticket_number_seq` is used instead (see tickets.numbers)."""

    last = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"last ticket number {self.last}"


# --- Agent workspace (issue 3): saved views and linked tickets -----------------------------------


class SavedView(models.Model):
    """A named ticket list: the query string of the list's filters, search and sort. Personal
    (team empty) or shared with everyone in a team (managers and admins share)."""

    name = models.CharField(_("name"), max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.CASCADE, related_name="saved_views"
    )
    team = models.ForeignKey(
        Team,
        verbose_name=_("shared with team"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="saved_views",
    )
    query = models.CharField(_("filters"), max_length=2000, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        indexes = [models.Index(fields=["owner", "name"], name="savedview_owner")]

    def __str__(self) -> str:
        return self.name


class TicketLinkKind(models.TextChoices):
    RELATED = "related", _("Related to")
    DUPLICATE_OF = "duplicate_of", _("Duplicate of")
    CAUSED_BY = "caused_by", _("Caused by")


class TicketLink(models.Model):
    """A relation between two tickets, read from `source`: "#source is a duplicate of #target"."""

    source = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="links_out")
    target = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="links_in")
    kind = models.CharField(_("kind"), max_length=20, choices=TicketLinkKind.choices, default=TicketLinkKind.RELATED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("ticket link")
        verbose_name_plural = _("ticket links")
        constraints = [
            models.UniqueConstraint(fields=["source", "target"], name="ticketlink_unique_pair"),
            models.CheckConstraint(condition=~Q(source=models.F("target")), name="ticketlink_not_self"),
        ]

    def __str__(self) -> str:
        return f"#{self.source_id} {self.kind} #{self.target_id}"


# --- Agent workspace (issue 3): undoable customer merges and agent notifications ----------------


class CustomerMergeRecord(models.Model):
    """What a customer merge did, kept so it can be undone: the merged (deleted) customer's
    fields, the ids of every row moved to the kept customer and the kept customer's fields
    the merge changed. Written and read by tickets.services.customer_merge only."""

    target = models.ForeignKey(
        Customer, verbose_name=_("kept customer"), on_delete=models.CASCADE, related_name="merge_records"
    )
    source_id = models.BigIntegerField(_("merged customer id"))
    source_fields = models.JSONField(_("merged customer"), default=dict)
    target_before = models.JSONField(_("kept customer before the merge"), default=dict, blank=True)
    moved = models.JSONField(_("rows moved"), default=dict, blank=True)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("merged"), default=timezone.now)
    undone_at = models.DateTimeField(_("undone"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("customer merge")
        verbose_name_plural = _("customer merges")
        indexes = [models.Index(fields=["target", "-created_at"], name="customermerge_target")]

    def __str__(self) -> str:
        return f"customer {self.source_id} -> {self.target_id}"


class NotificationEmailStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    SKIPPED = "skipped", _("Not wanted")
    FAILED = "failed", _("Failed")


class AgentNotificationDelivery(models.Model):
    """One notification of one agent about one event (unique: a task that runs twice sends
    nothing twice), with the state of its email."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=20)
    notification_id = models.BigIntegerField(_("in-app notification"), null=True, blank=True)
    email_status = models.CharField(
        _("email"), max_length=10, choices=NotificationEmailStatus.choices, default=NotificationEmailStatus.PENDING
    )
    email_attempts = models.PositiveSmallIntegerField(_("email attempts"), default=0)
    email_error = models.CharField(_("last email error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("agent notification")
        verbose_name_plural = _("agent notifications")
        constraints = [models.UniqueConstraint(fields=["event", "user"], name="agentnotification_once")]

    def __str__(self) -> str:
        return f"{self.kind} for user {self.user_id} (event {self.event_id})"


from .models_sla import *  # noqa
