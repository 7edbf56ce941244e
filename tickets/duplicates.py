"""Likely duplicate customers, each pair with the reasons it looks like one person.

Three signals, each found with a grouped query (so the page costs the same few queries however
many customers there are):

- the same phone number (E.164) under different customers, e.g. one customer from SMS
  (identity kind "phone") and another from WhatsApp;
- the same email local part ("ana.souza@") and the same name at different domains;
- the same name in the same organization.

Within a group the oldest customer is the one suggested to keep, so a group of n customers
gives n - 1 pairs, not n². Nothing is merged here: the pairs link to the customer profile,
where an agent confirms a merge.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, Value
from django.db.models.functions import Left, Lower, StrIndex, Substr, Trim
from django.utils.translation import gettext as _

from .models import Customer, Identity, IdentityKind

PHONE_KINDS = (IdentityKind.PHONE, IdentityKind.WHATSAPP)
MAX_GROUPS = 200


@dataclass
class DuplicatePair:
    kept: Customer
    other: Customer
    reasons: list[str] = field(default_factory=list)


def _local_part():
    return Lower(Left("value", StrIndex("value", Value("@")) - 1))


def _domain():
    return Lower(Substr("value", StrIndex("value", Value("@")) + 1))


def _same_phone_groups() -> list[tuple[str, list[int]]]:
    shared = (
        Identity.objects.filter(kind__in=PHONE_KINDS)
        .values("value")
        .annotate(customers=Count("customer", distinct=True))
        .filter(customers__gt=1)
        .values("value")[:MAX_GROUPS]
    )
    groups: dict[str, set[int]] = {}
    rows = Identity.objects.filter(kind__in=PHONE_KINDS, value__in=shared).values_list("value", "customer_id")
    for value, customer_id in rows:
        groups.setdefault(value, set()).add(customer_id)
    return [
        (_("Same phone number %(number)s") % {"number": value}, sorted(ids)) for value, ids in sorted(groups.items())
    ]


def _same_email_name_groups() -> list[tuple[str, list[int]]]:
    emails = Identity.objects.filter(kind=IdentityKind.EMAIL).exclude(customer__name="")
    keys = list(
        emails.annotate(local=_local_part(), lname=Lower(Trim("customer__name")))
        .values("local", "lname")
        .annotate(customers=Count("customer", distinct=True), domains=Count(_domain(), distinct=True))
        .filter(customers__gt=1, domains__gt=1)
        .values_list("local", "lname")[:MAX_GROUPS]
    )
    if not keys:
        return []
    wanted = Q()
    for local, lname in keys:
        wanted |= Q(local=local, lname=lname)
    groups: dict[tuple[str, str], set[int]] = {}
    rows = (
        emails.annotate(local=_local_part(), lname=Lower(Trim("customer__name")))
        .filter(wanted)
        .values_list("local", "lname", "customer_id")
    )
    for local, lname, customer_id in rows:
        groups.setdefault((local, lname), set()).add(customer_id)
    return [
        (_("Same name and email name “%(local)s@” at different domains") % {"local": local}, sorted(ids))
        for (local, _lname), ids in sorted(groups.items())
    ]


def _same_name_organization_groups() -> list[tuple[str, list[int]]]:
    named = Customer.objects.exclude(name="").filter(organization__isnull=False).annotate(lname=Lower(Trim("name")))
    keys = list(
        named.values("lname", "organization_id")
        .annotate(customers=Count("id"))
        .filter(customers__gt=1)
        .values_list("lname", "organization_id")[:MAX_GROUPS]
    )
    if not keys:
        return []
    wanted = Q()
    for lname, organization_id in keys:
        wanted |= Q(lname=lname, organization_id=organization_id)
    groups: dict[tuple[str, int], set[int]] = {}
    for lname, organization_id, customer_id in named.filter(wanted).values_list("lname", "organization_id", "id"):
        groups.setdefault((lname, organization_id), set()).add(customer_id)
    return [(_("Same name in the same organization"), sorted(ids)) for _key, ids in sorted(groups.items())]


def customer_duplicate_list(*, user: AbstractBaseUser) -> list[DuplicatePair]:
    """Pairs of customers that are likely one person, oldest first, with every reason found.
    Only for users who may see customers."""
    if not user.has_perm("tickets.view_customer"):
        raise PermissionDenied(_("Your role cannot see customers."))
    reasons_by_pair: dict[tuple[int, int], list[str]] = {}
    for groups in (_same_phone_groups(), _same_email_name_groups(), _same_name_organization_groups()):
        for reason, ids in groups:
            kept = ids[0]  # ids are customer primary keys: the lowest is the oldest
            for other in ids[1:]:
                reasons = reasons_by_pair.setdefault((kept, other), [])
                if reason not in reasons:
                    reasons.append(reason)
    if not reasons_by_pair:
        return []
    ids = {customer_id for pair in reasons_by_pair for customer_id in pair}
    customers = Customer.objects.select_related("organization").in_bulk(ids)
    pairs = [
        DuplicatePair(kept=customers[kept], other=customers[other], reasons=reasons)
        for (kept, other), reasons in sorted(reasons_by_pair.items())
        if kept in customers and other in customers
    ]
    return pairs


__all__ = ["DuplicatePair", "customer_duplicate_list"]
