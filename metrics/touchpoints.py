"""Customer touchpoints: how often customers contact, on which channels, how long after
signing up or buying (customer attributes `signed_up_at` / `purchased_at`, ISO dates set
through the API), what about (top tags), and churned against retained customers (attribute
`churned`). Live aggregate queries over tickets created in the range."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.db.models import Count, DateField, DurationField, ExpressionWrapper, F, Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Substr
from django.utils.translation import gettext_lazy as _

from tickets.models import Customer, Tag, Ticket

from .selectors import KpiFilters, _scoped_tickets

TOUCHPOINT_DEFINITIONS = {
    "contacts": _("Contacts per customer: tickets created in the range per customer who opened at least one."),
    "channels": _("Channels used: customers by how many different channels they used in the range, and per channel."),
    "since": _(
        "Time since sign-up / purchase: days from the customer's signed_up_at or purchased_at attribute "
        "(ISO date) to each ticket's creation; tickets of customers without the attribute are left out."
    ),
    "tags": _("Top tags: tags on tickets created in the range, most used first."),
    "churn": _(
        "Churned vs retained: customers whose attribute churned is true against the others; contact rate is "
        "the share of those customers who opened a ticket in the range, and tickets per customer is over all "
        "customers of the group."
    ),
}

CONTACT_BUCKETS = [(_("1 ticket"), 1, 1), (_("2 tickets"), 2, 2), (_("3-5 tickets"), 3, 5), (_("6 or more"), 6, None)]
SINCE_BUCKETS = [
    (_("first week"), 0, 7),
    (_("8-30 days"), 7, 30),
    (_("31-90 days"), 30, 90),
    (_("91-365 days"), 90, 365),
    (_("over a year"), 365, None),
]
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}"


def touchpoints_contacts(*, user, filters: KpiFilters) -> dict:
    per_customer = (
        _scoped_tickets(user=user, filters=filters).values("requester_id").annotate(n=Count("pk", distinct=True))
    )
    counts = [r["n"] for r in per_customer]
    buckets = []
    for label, low, high in CONTACT_BUCKETS:
        buckets.append(
            {"label": label, "customers": sum(1 for n in counts if n >= low and (high is None or n <= high))}
        )
    customers = len(counts)
    return {
        "customers": customers,
        "tickets": sum(counts),
        "average": sum(counts) / customers if customers else None,
        "buckets": buckets,
    }


def touchpoints_channels(*, user, filters: KpiFilters) -> dict:
    scoped = _scoped_tickets(user=user, filters=filters)
    by_channel = list(
        scoped.values("channel")
        .annotate(customers=Count("requester_id", distinct=True), tickets=Count("pk", distinct=True))
        .order_by("-customers", "channel")
    )
    spread: Counter[int] = Counter(
        scoped.values("requester_id").annotate(k=Count("channel", distinct=True)).values_list("k", flat=True)
    )
    return {"by_channel": by_channel, "spread": [{"channels": k, "customers": n} for k, n in sorted(spread.items())]}


def touchpoints_since(*, user, filters: KpiFilters, attribute: str) -> list[dict]:
    """Tickets by days since the customer's `attribute` date, in SINCE_BUCKETS."""
    if attribute not in ("signed_up_at", "purchased_at"):
        raise ValueError(attribute)
    path = f"requester__attributes__{attribute}"
    scoped = (
        _scoped_tickets(user=user, filters=filters)
        .filter(**{f"{path}__regex": _ISO_DATE})
        .annotate(since=Cast(Substr(KeyTextTransform(attribute, "requester__attributes"), 1, 10), DateField()))
        .annotate(days=ExpressionWrapper(Cast(F("created_at"), DateField()) - F("since"), output_field=DurationField()))
    )
    aggregates = {}
    for i, (_label, low, high) in enumerate(SINCE_BUCKETS):
        cond = Q(days__gte=dt.timedelta(days=low)) if i else Q(days__lt=dt.timedelta(days=high))
        if i and high is not None:
            cond &= Q(days__lt=dt.timedelta(days=high))
        aggregates[f"b{i}"] = Count("pk", filter=cond, distinct=True)
    row = scoped.aggregate(**aggregates)
    return [{"label": label, "tickets": row[f"b{i}"]} for i, (label, _lo, _hi) in enumerate(SINCE_BUCKETS)]


def touchpoints_top_tags(*, user, filters: KpiFilters, limit: int = 10) -> list[dict]:
    ids = _scoped_tickets(user=user, filters=filters).values("pk")
    return list(
        Tag.objects.filter(tickets__in=ids)
        .values("name")
        .annotate(tickets=Count("tickets", distinct=True))
        .order_by("-tickets", "name")[:limit]
    )


def touchpoints_churn(*, user, filters: KpiFilters) -> list[dict]:
    """Two rows (churned, retained): customers, contacting customers, contact rate, tickets per customer."""
    ids = _scoped_tickets(user=user, filters=filters).values("pk")
    churned = Q(attributes__churned=True) | Q(attributes__churned="true")
    existing = Customer.objects.filter(created_at__lt=filters.end)
    rows = []
    churned_ids = existing.filter(churned).values("pk")
    groups = (
        ("churned", _("Churned"), existing.filter(pk__in=churned_ids)),
        ("retained", _("Retained"), existing.exclude(pk__in=churned_ids)),
    )
    for key, label, group in groups:
        row = group.aggregate(
            customers=Count("pk", distinct=True),
            contacting=Count("pk", filter=Q(tickets__in=ids), distinct=True),
        )
        tickets = Ticket.objects.filter(pk__in=ids, requester__in=group.values("pk")).count()
        rows.append(
            {
                "key": key,
                "label": label,
                "customers": row["customers"],
                "contacting": row["contacting"],
                "contact_rate": 100 * row["contacting"] / row["customers"] if row["customers"] else None,
                "tickets": tickets,
                "tickets_per_customer": tickets / row["customers"] if row["customers"] else None,
            }
        )
    return rows
