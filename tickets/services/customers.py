"""Customers and their identities: who is writing, whatever the channel."""

from __future__ import annotations

from email.utils import parseaddr

from django.db import IntegrityError, transaction

from ..identities import email_domain, normalize
from ..models import Customer, Identity, IdentityKind, Organization, OrganizationDomain
from .events import Actor, event_record

# Phone numbers are the same person whether they text, call or use WhatsApp.
_SAME_NUMBER_KINDS = (IdentityKind.PHONE, IdentityKind.WHATSAPP)


def organization_for_email(address: str) -> Organization | None:
    domain = OrganizationDomain.objects.select_related("organization").filter(domain=email_domain(address)).first()
    return domain.organization if domain else None


def _display_name(kind: str, value: str, name: str) -> str:
    if name:
        return name.strip()[:200]
    if kind == IdentityKind.EMAIL:
        display, _ = parseaddr(value)
        return display.strip()[:200]
    return ""


def identity_add(
    *, customer: Customer, kind: str, value: str, actor: Actor, verified: bool = False, reason: str = ""
) -> Identity:
    """Attach one more identity to a customer. Raises IntegrityError when another customer
    already holds it (merge the customers instead)."""
    normalized = normalize(kind, value)
    with transaction.atomic():
        identity = Identity.objects.create(
            customer=customer, kind=kind, value=normalized, display=value.strip()[:255], verified=verified
        )
        event_record(
            obj=customer,
            verb="identity_added",
            new={"kind": kind, "value": normalized},
            data={"reason": reason} if reason else None,
            actor=actor,
        )
    return identity


def customer_create(
    *,
    name: str = "",
    language: str = "",
    organization: Organization | None = None,
    actor: Actor,
    **fields: object,
) -> Customer:
    customer = Customer(name=name[:200], organization=organization, **fields)
    if language:
        customer.language = language
    customer.full_clean(exclude=["user"])
    customer.save()
    event_record(obj=customer, verb="created", new={"name": customer.name}, actor=actor)
    return customer


def customer_resolve(
    *, kind: str, value: str, name: str = "", language: str = "", actor: Actor | None = None
) -> tuple[Customer, bool]:
    """The customer behind an identity, created on first contact.

    Returns (customer, created). A first message from a phone number that is already known
    under another phone-like kind (an SMS sender now on WhatsApp) is linked to the same
    customer, and the link is recorded with its reason."""
    actor = actor or Actor.system()
    normalized = normalize(kind, value)
    identity = Identity.objects.select_related("customer").filter(kind=kind, value=normalized).first()
    if identity is not None:
        customer = identity.customer
        display = _display_name(kind, value, name)
        if display and not customer.name:
            customer.name = display
            customer.save(update_fields=["name"])
            event_record(obj=customer, verb="changed", field="name", old="", new=display, actor=actor)
        return customer, False

    try:
        with transaction.atomic():
            if kind in _SAME_NUMBER_KINDS:
                sibling = (
                    Identity.objects.select_related("customer")
                    .filter(kind__in=_SAME_NUMBER_KINDS, value=normalized)
                    .exclude(kind=kind)
                    .first()
                )
                if sibling is not None:
                    identity_add(
                        customer=sibling.customer,
                        kind=kind,
                        value=value,
                        actor=actor,
                        reason=f"same number as the customer's {sibling.get_kind_display()} identity",
                    )
                    return sibling.customer, False

            organization = organization_for_email(normalized) if kind == IdentityKind.EMAIL else None
            customer = customer_create(
                name=_display_name(kind, value, name),
                language=language,
                organization=organization,
                preferred_channel=_preferred_channel(kind),
                actor=actor,
            )
            identity_add(customer=customer, kind=kind, value=value, actor=actor, reason="first contact")
            return customer, True
    except IntegrityError:
        # Another delivery created this identity at the same moment: use theirs.
        identity = Identity.objects.select_related("customer").get(kind=kind, value=normalized)
        return identity.customer, False


def _preferred_channel(kind: str) -> str:
    return {
        IdentityKind.EMAIL: "email",
        IdentityKind.PHONE: "sms",
        IdentityKind.WHATSAPP: "whatsapp",
        IdentityKind.MESSENGER: "messenger",
        IdentityKind.INSTAGRAM: "instagram",
        IdentityKind.TELEGRAM: "telegram",
        IdentityKind.CHAT: "chat",
    }.get(kind, "")
