"""Shapes of API input and output. Serializers validate and render; they never save: the
views hand validated data to the services."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import (
    Attachment,
    Channel,
    Customer,
    Event,
    Identity,
    IdentityKind,
    Message,
    Organization,
    Tag,
    Team,
    Ticket,
    TicketPriority,
    TicketStatus,
    TicketType,
    Tier,
)

User = get_user_model()
LANGUAGE_CHOICES = settings.LANGUAGES


# --- Small summaries used inside other objects ---------------------------------------------------


class UserSummarySerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "name"]

    def get_name(self, user: Any) -> str:
        return user.get_full_name() or user.get_username()


class CustomerSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "name"]


class NamedSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


# --- Tickets ---------------------------------------------------------------------------------------


class TicketSerializer(serializers.ModelSerializer):
    requester = CustomerSummarySerializer(read_only=True)
    organization = NamedSummarySerializer(read_only=True, allow_null=True)
    team = NamedSummarySerializer(read_only=True, allow_null=True)
    assignee = UserSummarySerializer(read_only=True, allow_null=True)
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    merged_into = serializers.SlugRelatedField(read_only=True, slug_field="number", allow_null=True)
    follow_up_of = serializers.SlugRelatedField(read_only=True, slug_field="number", allow_null=True)

    class Meta:
        model = Ticket
        fields = [
            "number",
            "subject",
            "status",
            "priority",
            "type",
            "channel",
            "language",
            "requester",
            "organization",
            "team",
            "assignee",
            "tags",
            "custom_fields",
            "first_response_due_at",
            "next_response_due_at",
            "resolution_due_at",
            "first_responded_at",
            "last_customer_message_at",
            "last_agent_message_at",
            "solved_at",
            "closed_at",
            "merged_into",
            "follow_up_of",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def to_representation(self, ticket: Ticket) -> dict[str, Any]:
        data = super().to_representation(ticket)
        expand = self.context.get("expand") or ()
        if not expand:
            return data
        if not hasattr(self, "_expanders"):  # built once per response, not once per ticket
            classes = {
                "requester": CustomerSerializer,
                "assignee": AgentExpandedSerializer,
                "team": TeamSerializer,
                "organization": OrganizationSerializer,
            }
            self._expanders = {name: classes[name](context=self.context) for name in expand}
        for name, serializer in self._expanders.items():
            related = getattr(ticket, name)
            if related is not None:
                data[name] = serializer.to_representation(related)
        return data


# `?expand=` on tickets: the related objects given in full instead of as summaries.
TICKET_EXPANDABLE = ("requester", "assignee", "team", "organization")


class IdentityInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=IdentityKind.choices)
    value = serializers.CharField(max_length=255)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class TicketCreateSerializer(serializers.Serializer):
    requester = serializers.PrimaryKeyRelatedField(
        queryset=Customer.objects.all(), required=False, help_text="An existing customer's id."
    )
    requester_identity = IdentityInputSerializer(
        required=False,
        help_text="Or: who the customer is (e.g. an email address); found or created like an inbound message's sender.",
    )
    subject = serializers.CharField(max_length=255)
    comment = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="The customer's first message, stored as an inbound message on channel `api` "
        "from the requester's identity.",
    )
    priority = serializers.ChoiceField(choices=TicketPriority.choices, default=TicketPriority.NORMAL)
    type = serializers.ChoiceField(choices=TicketType.choices, default=TicketType.QUESTION)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False, allow_null=True)
    assignee = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), required=False, allow_null=True)
    language = serializers.ChoiceField(choices=LANGUAGE_CHOICES, required=False)
    custom_fields = serializers.DictField(required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=64), required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("requester" in attrs) == ("requester_identity" in attrs):
            raise serializers.ValidationError(
                {"requester": ["Give either `requester` (a customer id) or `requester_identity`, not both."]}
                if "requester" in attrs
                else {"requester": ["Say who the ticket is for: `requester` (a customer id) or `requester_identity`."]}
            )
        return attrs


class TicketUpdateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=TicketStatus.choices, required=False)
    subject = serializers.CharField(max_length=255, required=False)
    priority = serializers.ChoiceField(choices=TicketPriority.choices, required=False)
    type = serializers.ChoiceField(choices=TicketType.choices, required=False)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False, allow_null=True)
    assignee = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), required=False, allow_null=True)
    organization = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.all(), required=False, allow_null=True
    )
    language = serializers.ChoiceField(choices=LANGUAGE_CHOICES, required=False)
    custom_fields = serializers.DictField(required=False, help_text="Merged into the ticket's custom fields.")
    tags = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, help_text="The complete new list of tags."
    )


# --- Messages and events ---------------------------------------------------------------------


class AttachmentSerializer(serializers.ModelSerializer):
    message = serializers.IntegerField(source="message_id", read_only=True)
    download_url = serializers.SerializerMethodField(
        help_text="GET it with the same token; null when the file was refused (too large) and not stored."
    )

    class Meta:
        model = Attachment
        fields = [
            "id",
            "message",
            "filename",
            "content_type",
            "size",
            "sha256",
            "inline",
            "stored",
            "download_url",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_download_url(self, attachment: Attachment) -> str | None:
        if not attachment.stored or not attachment.file:
            return None
        number = self.context.get("ticket_number") or attachment.message.ticket.number
        return reverse("api:ticket-attachment-download", kwargs={"ticket_number": number, "pk": attachment.pk})


class MessageSerializer(serializers.ModelSerializer):
    author_user = UserSummarySerializer(read_only=True, allow_null=True)
    author_customer = CustomerSummarySerializer(read_only=True, allow_null=True)
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "direction",
            "author_kind",
            "author_user",
            "author_customer",
            "channel",
            "subject",
            "body_text",
            "body_html",
            "is_internal",
            "delivery_status",
            "delivery_error",
            "attachments",
            "created_at",
            "sent_at",
        ]
        read_only_fields = fields


class MessageCreateSerializer(serializers.Serializer):
    body_text = serializers.CharField(required=False, allow_blank=True, default="")
    body_html = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Sanitised; text is derived from it when body_text is empty.",
    )
    is_internal = serializers.BooleanField(
        default=False, help_text="true: an internal note; false: a reply sent to the customer."
    )
    channel = serializers.ChoiceField(
        choices=Channel.choices,
        required=False,
        help_text="Reply on this channel (not `internal`); by default the one the customer last wrote on.",
    )
    attachments = serializers.ListField(
        child=serializers.FileField(allow_empty_file=False),
        required=False,
        write_only=True,
        help_text="Files, sent as multipart/form-data (repeat the `attachments` part for several). Each at most "
        "HELPDESK_MAX_ATTACHMENT_BYTES (25 MB), at most API_MAX_ATTACHMENTS_PER_MESSAGE (10) files.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not (attrs.get("body_text") or "").strip() and not (attrs.get("body_html") or "").strip():
            raise serializers.ValidationError({"body_text": ["A message needs some text (body_text or body_html)."]})
        if attrs.get("channel") == Channel.INTERNAL:
            raise serializers.ValidationError({"channel": ["For an internal note send is_internal: true instead."]})
        return attrs


class EventSerializer(serializers.ModelSerializer):
    actor_user = UserSummarySerializer(read_only=True, allow_null=True)
    actor_customer = CustomerSummarySerializer(read_only=True, allow_null=True)
    old_value = serializers.JSONField(read_only=True, allow_null=True)
    new_value = serializers.JSONField(read_only=True, allow_null=True)
    data = serializers.JSONField(read_only=True)

    class Meta:
        model = Event
        fields = [
            "id",
            "object_type",
            "object_id",
            "verb",
            "field",
            "old_value",
            "new_value",
            "data",
            "actor_kind",
            "actor_user",
            "actor_customer",
            "created_at",
        ]
        read_only_fields = fields


# --- Customers ---------------------------------------------------------------------------------


class IdentitySerializer(serializers.ModelSerializer):
    class Meta:
        model = Identity
        fields = ["id", "kind", "value", "display", "verified", "created_at"]
        read_only_fields = fields


class IdentityCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=IdentityKind.choices)
    value = serializers.CharField(max_length=255, help_text="As given; stored normalised (lower-case email, +digits).")
    verified = serializers.BooleanField(default=False)


class CustomerSerializer(serializers.ModelSerializer):
    identities = IdentitySerializer(many=True, read_only=True)

    class Meta:
        model = Customer
        fields = [
            "id",
            "name",
            "organization",
            "language",
            "time_zone",
            "preferred_channel",
            "tier",
            "consent_email",
            "consent_sms",
            "consent_whatsapp",
            "consent_marketing",
            "attributes",
            "notes",
            "identities",
            "created_at",
        ]
        read_only_fields = ["id", "identities", "created_at"]


class CustomerCreateSerializer(CustomerSerializer):
    identities = IdentityCreateSerializer(many=True, required=False, help_text="Email addresses, phone numbers, ...")

    class Meta(CustomerSerializer.Meta):
        read_only_fields = ["id", "created_at"]


class CustomerUpdateSerializer(CustomerSerializer):
    class Meta(CustomerSerializer.Meta):
        pass


# --- Organizations, teams, tags, agents ----------------------------------------------------------


class OrganizationSerializer(serializers.ModelSerializer):
    tier = serializers.ChoiceField(choices=Tier.choices, required=False)

    class Meta:
        model = Organization
        fields = ["id", "name", "tier", "notes", "created_at"]
        read_only_fields = ["id", "created_at"]


class TeamSerializer(serializers.ModelSerializer):
    lead = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(agent_profile__isnull=False), required=False, allow_null=True
    )

    class Meta:
        model = Team
        fields = ["id", "name", "description", "lead", "created_at"]
        read_only_fields = ["id", "created_at"]


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "name", "color"]
        read_only_fields = ["id"]


class AgentSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()
    role = serializers.CharField(source="agent_profile.role", read_only=True)
    teams = serializers.SerializerMethodField()
    is_available = serializers.BooleanField(source="agent_profile.is_available", read_only=True)
    capacity = serializers.IntegerField(source="agent_profile.capacity", read_only=True)
    language = serializers.CharField(source="agent_profile.language", read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "name", "email", "role", "teams", "is_available", "capacity", "language"]
        read_only_fields = fields

    def get_name(self, user: Any) -> str:
        return user.get_full_name() or user.get_username()

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_teams(self, user: Any) -> list[int]:
        return [team.pk for team in user.agent_profile.teams.all()]


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable: not_found, invalid, invalid_transition, ...")
    message = serializers.CharField(help_text="For people.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), help_text="Field name -> its problems."
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


class AgentExpandedSerializer(serializers.ModelSerializer):
    """An assignee in full (`?expand=assignee`): works for users without an agent profile too."""

    name = serializers.SerializerMethodField()
    role = serializers.SerializerMethodField()
    teams = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "name", "email", "role", "teams"]
        read_only_fields = fields

    def get_name(self, user: Any) -> str:
        return user.get_full_name() or user.get_username()

    def get_role(self, user: Any) -> str | None:
        profile = getattr(user, "agent_profile", None)
        return profile.role if profile is not None else None

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_teams(self, user: Any) -> list[int]:
        profile = getattr(user, "agent_profile", None)
        return [team.pk for team in profile.teams.all()] if profile is not None else []


class CustomerMergeSerializer(serializers.Serializer):
    source = serializers.PrimaryKeyRelatedField(
        queryset=Customer.objects.all(), help_text="The customer merged into this one (and then deleted)."
    )


# --- Bulk ticket changes -------------------------------------------------------------------------


class TicketBulkChangesSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=TicketStatus.choices, required=False)
    priority = serializers.ChoiceField(choices=TicketPriority.choices, required=False)
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True, help_text="Agent (user) id; null unassigns."
    )
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False, allow_null=True)
    tags_add = serializers.ListField(child=serializers.CharField(max_length=64), required=False)
    tags_remove = serializers.ListField(child=serializers.CharField(max_length=64), required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError(
                "Say what to change: status, priority, assignee, team, tags_add or tags_remove."
            )
        return attrs


class TicketBulkSerializer(serializers.Serializer):
    tickets = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        allow_empty=False,
        help_text="Ticket numbers (at most API_BULK_MAX_TICKETS, 100).",
    )
    changes = TicketBulkChangesSerializer()

    def validate_tickets(self, value: list[int]) -> list[int]:
        return list(dict.fromkeys(value))


class BulkErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class TicketBulkOutcomeSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    ok = serializers.BooleanField()
    error = BulkErrorSerializer(allow_null=True, help_text="Why this ticket was not changed; null when it was.")
    ticket = TicketSerializer(allow_null=True, help_text="The ticket after the change.")


class TicketBulkResultSerializer(serializers.Serializer):
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField()
    results = TicketBulkOutcomeSerializer(many=True)
