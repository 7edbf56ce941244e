"""API views: parse input, call one service or selector, render. Nothing here writes a model
directly."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet, prefetch_related_objects
from django.http import FileResponse, Http404
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from ..identities import InvalidIdentity, normalize
from ..inbound import InboundMessage, InboundSender
from ..models import Attachment, Customer, Event, IdentityKind, Message, Organization, Tag, Team, Ticket
from ..selectors import ticket_get, ticket_list
from ..services.customer_merge import customer_merge
from ..services.customers import customer_create, customer_resolve, identity_add
from ..services.directory import (
    customer_update,
    identity_owner,
    organization_create,
    organization_update,
    tag_create,
    tag_update,
    team_create,
    team_update,
)
from ..services.events import Actor
from ..services.ingest import message_ingest
from ..services.tickets import (
    ticket_assign,
    ticket_change_status,
    ticket_create,
    ticket_reply,
    ticket_tags_set,
    ticket_update,
)
from ..views.attachments import INLINE_TYPES
from . import schema  # noqa: F401  (registers the token auth scheme with drf-spectacular)
from .authentication import TokenAuthentication
from .exceptions import api_exception_handler
from .filters import CustomerFilterSet, TicketFilterSet
from .idempotency import idempotent
from .pagination import ApiCursorPagination, OldestFirstCursorPagination
from .permissions import IsAgent, RolePermission, TokenScopePermission, is_agent
from .schema import (
    CUSTOMER_MERGE_EXAMPLES,
    ERRORS,
    EXPAND,
    IDEMPOTENCY_KEY,
    TICKET_BULK_EXAMPLES,
    TICKET_CREATE_EXAMPLES,
    TICKET_EXAMPLE,
    TICKET_UPDATE_EXAMPLES,
)
from .selectors import agent_list, attachment_list, event_list, message_list
from .serializers import (
    TICKET_EXPANDABLE,
    AgentSerializer,
    AttachmentSerializer,
    CustomerCreateSerializer,
    CustomerMergeSerializer,
    CustomerSerializer,
    CustomerUpdateSerializer,
    EventSerializer,
    IdentityCreateSerializer,
    IdentitySerializer,
    MessageCreateSerializer,
    MessageSerializer,
    OrganizationSerializer,
    TagSerializer,
    TeamSerializer,
    TicketBulkResultSerializer,
    TicketBulkSerializer,
    TicketCreateSerializer,
    TicketSerializer,
    TicketUpdateSerializer,
)
from .services import attachments_check, bulk_max_tickets, message_attachments_add, ticket_bulk_update
from .throttling import ApiUserRateThrottle


class ApiViewSet(viewsets.GenericViewSet):
    """What every API view shares: token (or session) auth, role and scope checks, throttling,
    cursor pagination and the one error format. Set here rather than only in settings, so
    other DRF views in the project (inbound webhooks) are not throttled or paginated."""

    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated, TokenScopePermission, RolePermission]
    throttle_classes = [ApiUserRateThrottle]
    pagination_class = ApiCursorPagination
    required_perms: dict[str, str | None] = {}

    def get_exception_handler(self) -> Any:
        return api_exception_handler

    def actor(self) -> Actor:
        return Actor.api(self.request.user)

    def rendered(self, serializer_class: type, instance: Any, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(serializer_class(instance, context=self.get_serializer_context()).data, status=status_code)


# --- Tickets ---------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List tickets",
        description="Tickets you may see (the same as in the agent workspace), newest change first. "
        "For incremental export: `?updated_since=<time>&ordering=updated_at`, then follow `next`.",
        responses={200: TicketSerializer, **ERRORS},
        parameters=[EXPAND],
        examples=[TICKET_EXAMPLE],
    ),
    retrieve=extend_schema(
        summary="Get a ticket by number",
        responses={200: TicketSerializer, **ERRORS},
        parameters=[EXPAND],
        examples=[TICKET_EXAMPLE],
    ),
)
class TicketViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = TicketSerializer
    lookup_field = "number"
    lookup_value_regex = "[0-9]+"
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = TicketFilterSet
    ordering_fields = ["updated_at", "created_at", "number"]
    ordering = ["-updated_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    # Reading is decided by ticket visibility; changes by the services' own checks.
    required_perms = {"read": None, "create": "tickets.add_ticket", "update": None, "bulk": "tickets.change_ticket"}

    def expand(self) -> tuple[str, ...]:
        """`?expand=requester,assignee,team,organization`: those related objects in full."""
        raw = self.request.query_params.get("expand", "") if self.request else ""
        names = tuple(dict.fromkeys(name.strip() for name in raw.split(",") if name.strip()))
        unknown = [name for name in names if name not in TICKET_EXPANDABLE]
        if unknown:
            raise ApiValidationError(
                {"expand": [f"Cannot expand {', '.join(unknown)}; choose from {', '.join(TICKET_EXPANDABLE)}."]}
            )
        return names

    def _expand_lookups(self) -> list[str]:
        expand = self.expand()
        lookups = []
        if "requester" in expand:
            lookups.append("requester__identities")
        if "assignee" in expand:
            lookups += ["assignee__agent_profile", "assignee__agent_profile__teams"]
        return lookups

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if self.action in ("list", "retrieve"):
            context["expand"] = self.expand()
        return context

    def get_queryset(self) -> QuerySet[Ticket]:
        queryset = ticket_list(user=self.request.user).select_related("merged_into", "follow_up_of")
        if self.action == "list":
            queryset = queryset.prefetch_related(*self._expand_lookups())
        return queryset

    def get_object(self) -> Ticket:
        ticket = ticket_get(user=self.request.user, number=int(self.kwargs["number"]))
        if self.action == "retrieve":
            prefetch_related_objects([ticket], "merged_into", "follow_up_of", "tags", *self._expand_lookups())
        return ticket

    @extend_schema(
        summary="Change many tickets at once",
        description="The same `changes` (status, priority, assignee, team, tags_add, tags_remove) applied to each "
        "ticket in `tickets` (numbers) in turn, each through the same checks as a single change and in its own "
        "transaction: one refusal does not stop the others. The answer says, per ticket, whether it worked "
        "and why not. At most API_BULK_MAX_TICKETS (100) tickets per request.",
        request=TicketBulkSerializer,
        responses={200: TicketBulkResultSerializer, **ERRORS},
        examples=TICKET_BULK_EXAMPLES,
    )
    @action(detail=False, methods=["post"], url_path="bulk")
    def bulk(self, request: Request) -> Response:
        numbers = request.data.get("tickets") if isinstance(request.data, dict) else None
        if isinstance(numbers, list) and len(numbers) > bulk_max_tickets():
            exc = ApiValidationError(
                {"tickets": [f"At most {bulk_max_tickets()} tickets per request; {len(numbers)} were sent."]}
            )
            exc.error_code = "too_many_tickets"  # type: ignore[attr-defined]
            raise exc
        serializer = TicketBulkSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        outcomes = ticket_bulk_update(
            user=request.user, numbers=data["tickets"], changes=data["changes"], actor=self.actor()
        )
        done = [o.number for o in outcomes if o.ok]
        fresh = {t.number: t for t in ticket_list(user=request.user).filter(number__in=done)}
        context = self.get_serializer_context()
        results = [
            {
                "number": o.number,
                "ok": o.ok,
                "error": None if o.ok else {"code": o.code, "message": o.message},
                "ticket": TicketSerializer(fresh[o.number], context=context).data if o.number in fresh else None,
            }
            for o in outcomes
        ]
        return Response({"succeeded": len(done), "failed": len(outcomes) - len(done), "results": results})

    @extend_schema(
        summary="Create a ticket",
        description="Creates a ticket on channel `api` for an existing customer (`requester`) or one "
        "found or created from an identity (`requester_identity`). A `comment` becomes the "
        "customer's first message. Send an `Idempotency-Key` header to make retries safe.",
        request=TicketCreateSerializer,
        responses={201: TicketSerializer, **ERRORS},
        parameters=[IDEMPOTENCY_KEY],
        examples=TICKET_CREATE_EXAMPLES,
    )
    def create(self, request: Request) -> Response:
        return idempotent(request, lambda: self._create(request))

    def _create(self, request: Request) -> Response:
        serializer = TicketCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        actor = self.actor()
        with transaction.atomic():
            requester = data.get("requester")
            if requester is None:
                identity = data["requester_identity"]
                try:
                    requester, _created = customer_resolve(
                        kind=identity["kind"], value=identity["value"], name=identity["name"], actor=actor
                    )
                except InvalidIdentity as exc:
                    raise ValidationError({"requester_identity": [str(exc)]}) from exc
            comment = (data.get("comment") or "").strip()
            sender = _sender_for(requester) if comment else None
            ticket = ticket_create(
                requester=requester,
                subject=data["subject"],
                channel="api",
                priority=data["priority"],
                type=data["type"],
                team=data.get("team"),
                language=data.get("language", ""),
                custom_fields=data.get("custom_fields"),
                actor=actor,
            )
            if data.get("assignee") is not None:
                ticket_assign(ticket=ticket, assignee=data["assignee"], actor=actor)
            if data.get("tags"):
                ticket_tags_set(ticket=ticket, names=data["tags"], actor=actor)
            if sender is not None:
                # The customer's words enter the way every inbound message does.
                message_ingest(
                    inbound=InboundMessage(
                        channel="api",
                        sender=sender,
                        subject=ticket.subject,
                        body_text=comment,
                        ticket_number=ticket.number,
                        metadata={"created_by_api_user": request.user.pk},
                    )
                )
        try:
            ticket = ticket_get(user=request.user, number=ticket.number)
        except Http404:  # created for a team the creator cannot see: show what they sent
            pass
        response = self.rendered(TicketSerializer, ticket, status.HTTP_201_CREATED)
        response["Location"] = reverse("api:ticket-detail", kwargs={"number": ticket.number})
        return response

    @extend_schema(
        summary="Change a ticket",
        description="Only the fields given change. `status` follows the ticket workflow "
        "(new → open → pending / on hold → solved → closed); a move it does not allow is a 400 "
        "with code `invalid_transition` saying where the ticket can go. `tags` replaces the tag list.",
        request=TicketUpdateSerializer,
        responses={200: TicketSerializer, **ERRORS},
        examples=TICKET_UPDATE_EXAMPLES,
    )
    def partial_update(self, request: Request, number: str) -> Response:
        ticket = self.get_object()
        serializer = TicketUpdateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        new_status = changes.pop("status", None)
        tags = changes.pop("tags", None)
        actor = self.actor()
        with transaction.atomic():
            if changes:
                ticket_update(ticket=ticket, changes=changes, actor=actor)
            if tags is not None:
                ticket_tags_set(ticket=ticket, names=tags, actor=actor)
            if new_status is not None:
                try:
                    ticket_change_status(ticket=ticket, status=new_status, actor=actor)
                except ValidationError as exc:
                    raise _on_field(exc, "status") from exc
        return self.rendered(TicketSerializer, ticket_get(user=request.user, number=ticket.number))


def _on_field(exc: ValidationError, field: str) -> ValidationError:
    """The same error, attached to one input field, keeping its code."""
    return ValidationError({field: exc.error_list})


def _sender_for(customer: Customer) -> InboundSender:
    """The identity a customer's API comment is written as: email first, then phone, ..."""
    identities = sorted(customer.identities.all(), key=lambda i: (list(IdentityKind.values).index(i.kind), i.pk))
    if not identities:
        raise ValidationError(
            {
                "comment": [
                    "The requester has no identity (email address, phone number, ...) to write the "
                    "comment as. Add one to the customer first, or create the ticket with requester_identity."
                ]
            }
        )
    return InboundSender(kind=identities[0].kind, value=identities[0].value, name=customer.name)


class TicketChildMixin:
    """For /tickets/{number}/...: the parent ticket, as visible to the user (else 404)."""

    request: Request
    kwargs: dict[str, Any]

    def ticket(self) -> Ticket:
        if not hasattr(self, "_ticket"):
            self._ticket = ticket_get(user=self.request.user, number=int(self.kwargs["ticket_number"]))
        return self._ticket


TICKET_NUMBER = OpenApiParameter("ticket_number", OpenApiTypes.INT, OpenApiParameter.PATH, description="Ticket number.")


@extend_schema_view(
    list=extend_schema(
        summary="List a ticket's messages",
        description="Oldest first. Customers see no internal notes.",
        parameters=[TICKET_NUMBER],
        responses={200: MessageSerializer, **ERRORS},
    ),
)
class TicketMessageViewSet(TicketChildMixin, mixins.ListModelMixin, ApiViewSet):
    serializer_class = MessageSerializer
    pagination_class = OldestFirstCursorPagination
    required_perms = {"read": None, "create": None}

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return Message.objects.none()
        return message_list(ticket=self.ticket(), user=self.request.user)

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False) and "ticket_number" in self.kwargs:
            context["ticket_number"] = int(self.kwargs["ticket_number"])
        return context

    @extend_schema(
        summary="Reply to the customer, or add an internal note",
        description="`is_internal: false` queues a reply on the customer's channel; light agents may "
        "only add notes (`is_internal: true`). To attach files send `multipart/form-data` with the "
        "fields and one `attachments` part per file; a file over the size limit, or too many files, is "
        "a 400 and nothing is stored.",
        parameters=[TICKET_NUMBER, IDEMPOTENCY_KEY],
        request=MessageCreateSerializer,
        responses={201: MessageSerializer, **ERRORS},
    )
    def create(self, request: Request, ticket_number: str) -> Response:
        return idempotent(request, lambda: self._create(request))

    def _create(self, request: Request) -> Response:
        if not is_agent(request.user):
            raise PermissionDenied("Only agents can post messages through the API.")
        ticket = self.ticket()
        serializer = MessageCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        files = data.get("attachments") or []
        attachments_check(files)
        actor = self.actor()
        # One transaction: the delivery task (queued on commit) finds the files on the message.
        with transaction.atomic():
            message = ticket_reply(
                ticket=ticket,
                author=request.user,
                body_text=data["body_text"],
                body_html=data["body_html"],
                is_internal=data["is_internal"],
                channel=data.get("channel"),
                actor=actor,
            )
            if files:
                message_attachments_add(message=message, files=files, actor=actor)
        message = message_list(ticket=ticket, user=request.user).get(pk=message.pk)
        return self.rendered(MessageSerializer, message, status.HTTP_201_CREATED)


ATTACHMENT_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Attachment id.")


@extend_schema_view(
    list=extend_schema(
        summary="List a ticket's attachments",
        description="Files of every message you may see (customers: not those of internal notes), oldest first. "
        "`stored: false` marks a file that was refused for its size and only noted.",
        parameters=[TICKET_NUMBER],
        responses={200: AttachmentSerializer, **ERRORS},
    ),
)
class TicketAttachmentViewSet(TicketChildMixin, mixins.ListModelMixin, ApiViewSet):
    serializer_class = AttachmentSerializer
    pagination_class = OldestFirstCursorPagination
    lookup_value_regex = "[0-9]+"
    required_perms = {"read": None}

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return Attachment.objects.none()
        return attachment_list(ticket=self.ticket(), user=self.request.user)

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["ticket_number"] = int(self.kwargs["ticket_number"])
        return context

    @extend_schema(
        summary="Download an attachment",
        description="The file itself. Images are shown inline; everything else is sent as a download "
        "(application/octet-stream), always with `Content-Security-Policy: sandbox` and `nosniff`, as in "
        "the agent workspace.",
        parameters=[TICKET_NUMBER, ATTACHMENT_ID],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **ERRORS},
    )
    @action(detail=True, methods=["get"])
    def download(self, request: Request, ticket_number: str, pk: str) -> FileResponse:
        attachment = self.get_queryset().filter(pk=int(pk), stored=True).exclude(file="").first()
        if attachment is None:
            raise Http404("No such attachment on this ticket.")
        inline = attachment.content_type in INLINE_TYPES
        response = FileResponse(attachment.file.open("rb"), as_attachment=not inline, filename=attachment.filename)
        response["Content-Type"] = attachment.content_type if inline else "application/octet-stream"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["X-Content-Type-Options"] = "nosniff"
        return response


@extend_schema_view(
    list=extend_schema(
        summary="List a ticket's events (audit trail)",
        description="Every change, who made it and when; oldest first. For agents.",
        parameters=[TICKET_NUMBER],
        responses={200: EventSerializer, **ERRORS},
    ),
)
class TicketEventViewSet(TicketChildMixin, mixins.ListModelMixin, ApiViewSet):
    serializer_class = EventSerializer
    pagination_class = OldestFirstCursorPagination
    permission_classes = [*ApiViewSet.permission_classes, IsAgent]
    required_perms = {"read": "tickets.view_event"}

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return Event.objects.none()
        return event_list(ticket=self.ticket())


# --- Customers -------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List customers", responses={200: CustomerSerializer, **ERRORS}),
    retrieve=extend_schema(summary="Get a customer", responses={200: CustomerSerializer, **ERRORS}),
)
class CustomerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = CustomerSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = CustomerFilterSet
    http_method_names = ["get", "post", "patch", "head", "options"]
    required_perms = {
        "read": "tickets.view_customer",
        "create": "tickets.add_customer",
        "update": "tickets.change_customer",
        "merge": "tickets.change_customer",
    }

    def get_queryset(self) -> QuerySet[Customer]:
        return Customer.objects.select_related("organization").prefetch_related("identities")

    def get_serializer_class(self) -> type:
        if self.action == "identities":
            return IdentityCreateSerializer
        return super().get_serializer_class()

    @extend_schema(
        summary="Create a customer with their identities",
        request=CustomerCreateSerializer,
        responses={201: CustomerSerializer, **ERRORS},
        parameters=[IDEMPOTENCY_KEY],
    )
    def create(self, request: Request) -> Response:
        return idempotent(request, lambda: self._create(request))

    def _create(self, request: Request) -> Response:
        serializer = CustomerCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        identities = data.pop("identities", [])
        actor = self.actor()
        with transaction.atomic():
            customer = customer_create(actor=actor, **data)
            for index, identity in enumerate(identities):
                _identity_add(customer, identity, actor, field=f"identities[{index}]")
        return self.rendered(CustomerSerializer, self.get_queryset().get(pk=customer.pk), status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a customer", request=CustomerUpdateSerializer, responses={200: CustomerSerializer, **ERRORS}
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        customer = self.get_object()
        serializer = CustomerUpdateSerializer(customer, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        customer_update(customer=customer, changes=serializer.validated_data, actor=self.actor())
        return self.rendered(CustomerSerializer, self.get_queryset().get(pk=customer.pk))

    @extend_schema(
        summary="Add an identity to a customer",
        request=IdentityCreateSerializer,
        responses={201: IdentitySerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="identities")
    def identities(self, request: Request, pk: str) -> Response:
        customer = self.get_object()
        if not request.user.has_perm("tickets.add_identity"):
            raise PermissionDenied("Your role cannot add identities to customers.")
        serializer = IdentityCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        identity = _identity_add(customer, serializer.validated_data, self.actor(), field="value")
        return self.rendered(IdentitySerializer, identity, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Merge another customer into this one",
        description="Everything of the customer `source` (identities, tickets, message authorship, ticket "
        "following, surveys, portal login) moves to this customer, and `source` is deleted. Both get a "
        "`customer_merged` event. Refused (400) for the same customer (`merge_into_itself`) or when both "
        "have a portal login (`portal_user_conflict`).",
        request=CustomerMergeSerializer,
        responses={200: CustomerSerializer, **ERRORS},
        examples=CUSTOMER_MERGE_EXAMPLES,
    )
    @action(detail=True, methods=["post"], url_path="merge")
    def merge(self, request: Request, pk: str) -> Response:
        target = self.get_object()
        serializer = CustomerMergeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            merged = customer_merge(source=serializer.validated_data["source"], target=target, actor=self.actor())
        except ValidationError as exc:
            raise _on_field(exc, "source") from exc
        return self.rendered(CustomerSerializer, self.get_queryset().get(pk=merged.pk))


def _identity_add(customer: Customer, data: dict[str, Any], actor: Actor, *, field: str) -> Any:
    try:
        normalized = normalize(data["kind"], data["value"])
    except InvalidIdentity as exc:
        raise ValidationError({field: [str(exc)]}) from exc
    owner = identity_owner(kind=data["kind"], value=normalized)
    if owner is not None:
        message = f"{normalized} already belongs to customer {owner.pk} ({owner}); merge the customers instead."
        raise ValidationError({field: ValidationError(message, code="identity_taken")})
    try:
        with transaction.atomic():
            return identity_add(
                customer=customer,
                kind=data["kind"],
                value=data["value"],
                verified=data.get("verified", False),
                actor=actor,
            )
    except IntegrityError as exc:
        message = f"{normalized} already belongs to another customer."
        raise ValidationError({field: ValidationError(message, code="identity_taken")}) from exc


# --- Organizations, teams, tags, agents ----------------------------------------------------------


class _SimpleResourceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """List and get for everyone whose role may see the resource; create and change for the
    roles that may (managers and admins, or as the role table says)."""

    http_method_names = ["get", "post", "patch", "head", "options"]
    pagination_class = OldestFirstCursorPagination

    def create_object(self, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def update_object(self, obj: Any, changes: dict[str, Any]) -> Any:
        raise NotImplementedError

    def create(self, request: Request) -> Response:
        return idempotent(request, lambda: self._create(request))

    def _create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        obj = self.create_object(dict(serializer.validated_data))
        return self.rendered(self.get_serializer_class(), obj, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        obj = self.get_object()
        serializer = self.get_serializer(obj, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        obj = self.update_object(obj, dict(serializer.validated_data))
        return self.rendered(self.get_serializer_class(), obj)


def _resource_schema(name: str, serializer: type) -> Any:
    return extend_schema_view(
        list=extend_schema(summary=f"List {name}s", responses={200: serializer, **ERRORS}),
        retrieve=extend_schema(summary=f"Get a {name}", responses={200: serializer, **ERRORS}),
        create=extend_schema(
            summary=f"Create a {name}", parameters=[IDEMPOTENCY_KEY], responses={201: serializer, **ERRORS}
        ),
        partial_update=extend_schema(summary=f"Change a {name}", responses={200: serializer, **ERRORS}),
    )


@_resource_schema("organization", OrganizationSerializer)
class OrganizationViewSet(_SimpleResourceViewSet):
    serializer_class = OrganizationSerializer
    queryset = Organization.objects.all()
    required_perms = {
        "read": "tickets.view_organization",
        "create": "tickets.add_organization",
        "update": "tickets.change_organization",
    }

    def create_object(self, data: dict[str, Any]) -> Organization:
        return organization_create(actor=self.actor(), **data)

    def update_object(self, obj: Organization, changes: dict[str, Any]) -> Organization:
        return organization_update(organization=obj, changes=changes, actor=self.actor())


@_resource_schema("team", TeamSerializer)
class TeamViewSet(_SimpleResourceViewSet):
    serializer_class = TeamSerializer
    queryset = Team.objects.all()
    required_perms = {"read": "tickets.view_team", "create": "tickets.add_team", "update": "tickets.change_team"}

    def create_object(self, data: dict[str, Any]) -> Team:
        return team_create(actor=self.actor(), **data)

    def update_object(self, obj: Team, changes: dict[str, Any]) -> Team:
        return team_update(team=obj, changes=changes, actor=self.actor())


@_resource_schema("tag", TagSerializer)
class TagViewSet(_SimpleResourceViewSet):
    serializer_class = TagSerializer
    queryset = Tag.objects.all()
    required_perms = {"read": "tickets.view_tag", "create": "tickets.add_tag", "update": "tickets.change_tag"}

    def create_object(self, data: dict[str, Any]) -> Tag:
        return tag_create(actor=self.actor(), **data)

    def update_object(self, obj: Tag, changes: dict[str, Any]) -> Tag:
        return tag_update(tag=obj, changes=changes, actor=self.actor())


@extend_schema_view(
    list=extend_schema(summary="List agents", responses={200: AgentSerializer, **ERRORS}),
    retrieve=extend_schema(summary="Get an agent", responses={200: AgentSerializer, **ERRORS}),
)
class AgentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Agents (by user id, the id tickets use for `assignee`). Read-only."""

    serializer_class = AgentSerializer
    permission_classes = [*ApiViewSet.permission_classes, IsAgent]
    pagination_class = OldestFirstCursorPagination

    def get_queryset(self) -> QuerySet:
        return agent_list()
