"""One FilterSet per resource, shared by the API and (later) the agent workspace."""

from __future__ import annotations

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from ..identities import InvalidIdentity, normalize
from ..models import (
    UNSOLVED_STATUSES,
    Channel,
    Customer,
    IdentityKind,
    Organization,
    Team,
    Ticket,
    TicketPriority,
    TicketStatus,
    TicketType,
)

STATUS_CHOICES = [*TicketStatus.choices, ("unsolved", "Unsolved (new, open, pending or on hold)")]


class TicketFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=STATUS_CHOICES, method="filter_status", help_text="Repeat for several; `unsolved` for all unsolved."
    )
    priority = django_filters.MultipleChoiceFilter(choices=TicketPriority.choices)
    type = django_filters.MultipleChoiceFilter(choices=TicketType.choices)
    channel = django_filters.MultipleChoiceFilter(choices=Channel.choices)
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.all(), help_text="Team id.")
    assignee = django_filters.ModelChoiceFilter(queryset=get_user_model().objects.all(), help_text="Agent (user) id.")
    unassigned = django_filters.BooleanFilter(field_name="assignee", lookup_expr="isnull")
    requester = django_filters.ModelChoiceFilter(queryset=Customer.objects.all(), help_text="Customer id.")
    organization = django_filters.ModelChoiceFilter(queryset=Organization.objects.all(), help_text="Organization id.")
    tag = django_filters.CharFilter(method="filter_tag", help_text="Tickets carrying this tag (by name).")
    created = django_filters.IsoDateTimeFromToRangeFilter(
        field_name="created_at", help_text="`created_after` / `created_before`, ISO 8601."
    )
    updated = django_filters.IsoDateTimeFromToRangeFilter(
        field_name="updated_at", help_text="`updated_after` / `updated_before`, ISO 8601."
    )
    updated_since = django_filters.IsoDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text="Incremental export: tickets changed at or after this time. Use with "
        "`ordering=updated_at` and follow the `next` links.",
    )

    class Meta:
        model = Ticket
        fields: list[str] = []

    def filter_status(self, queryset: QuerySet[Ticket], name: str, value: list[str]) -> QuerySet[Ticket]:
        if not value:
            return queryset
        statuses = {s for s in value if s != "unsolved"}
        if "unsolved" in value:
            statuses |= set(UNSOLVED_STATUSES)
        return queryset.filter(status__in=statuses)

    def filter_tag(self, queryset: QuerySet[Ticket], name: str, value: str) -> QuerySet[Ticket]:
        if not value:
            return queryset
        return queryset.filter(tags__name=value.strip().lower())


class CustomerFilterSet(django_filters.FilterSet):
    organization = django_filters.ModelChoiceFilter(queryset=Organization.objects.all())
    name = django_filters.CharFilter(lookup_expr="icontains")
    email = django_filters.CharFilter(method="filter_identity", help_text="Customer with this email address.")
    phone = django_filters.CharFilter(method="filter_identity", help_text="Customer with this phone number.")
    created = django_filters.IsoDateTimeFromToRangeFilter(field_name="created_at")

    class Meta:
        model = Customer
        fields: list[str] = []

    def filter_identity(self, queryset: QuerySet[Customer], name: str, value: str) -> QuerySet[Customer]:
        if not value:
            return queryset
        kinds = [IdentityKind.EMAIL] if name == "email" else [IdentityKind.PHONE, IdentityKind.WHATSAPP]
        try:
            normalized = normalize(kinds[0], value)
        except InvalidIdentity:
            return queryset.none()
        return queryset.filter(Q(identities__kind__in=kinds, identities__value=normalized)).distinct()
