"""The customer portal's own rules: rate limits, magic sign-in links, customer logins, and the
customer's actions on a ticket (reply, solve). Messages enter only through the web channel."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from channels_inbox.webform.adapter import WebUpload
from channels_inbox.webform.services import WebSubmission, webform_submit
from tickets.customer_messages import customer_language
from tickets.identities import InvalidIdentity, normalize
from tickets.models import Customer, Identity, IdentityKind, Ticket, TicketStatus
from tickets.services.events import Actor
from tickets.services.tickets import ticket_change_status

logger = logging.getLogger(__name__)

MAGIC_LINK_SALT = "portal.magic-link"
CONFIRMATION_SALT = "portal.confirmation"


# --- Rate limits -------------------------------------------------------------------------------


def rate_limit_hit(*, scope: str, key: str, limit: int, window_seconds: int = 3600) -> bool:
    """Count one use of (scope, key); True when this use is over `limit` in the window."""
    digest = hashlib.sha256(f"{scope}:{key}".encode()).hexdigest()
    cache_key = f"portal:rate:{scope}:{digest}"
    cache.add(cache_key, 0, timeout=window_seconds)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=window_seconds)
        count = 1
    return count > limit


def limit_per_ip() -> int:
    return int(getattr(settings, "PORTAL_RATE_LIMIT_PER_IP", 5))


def limit_per_address() -> int:
    return int(getattr(settings, "PORTAL_RATE_LIMIT_PER_ADDRESS", 3))


# --- Submissions and customer actions ----------------------------------------------------------


def portal_request_submit(
    *,
    name: str,
    email: str,
    subject: str,
    description: str,
    category: str,
    language: str,
    uploads: Iterable[WebUpload],
    remote_addr: str,
) -> WebSubmission:
    return webform_submit(
        name=name,
        email=email,
        subject=subject,
        description=description,
        category=category,
        language=language,
        uploads=uploads,
        remote_addr=remote_addr,
    )


def customer_email(customer: Customer) -> str:
    identity = customer.identities.filter(kind=IdentityKind.EMAIL).order_by("-verified", "id").first()
    return identity.value if identity else ""


def portal_reply(
    *, customer: Customer, ticket: Ticket, body: str, uploads: Iterable[WebUpload], remote_addr: str
) -> WebSubmission:
    """The customer's answer on their own ticket, as an inbound web message on that ticket."""
    if ticket.requester_id != customer.pk:
        raise PermissionDenied
    address = customer_email(customer)
    if not address:
        raise PermissionDenied(_("Your account has no email address; please write to us by email."))
    return webform_submit(
        name=customer.name,
        email=address,
        subject="",
        description=body,
        ticket_number=ticket.number,
        language=customer.language,
        uploads=uploads,
        remote_addr=remote_addr,
    )


def portal_ticket_solve(*, customer: Customer, ticket: Ticket) -> Ticket:
    if ticket.requester_id != customer.pk:
        raise PermissionDenied
    return ticket_change_status(ticket=ticket, status=TicketStatus.SOLVED, actor=Actor.of_customer(customer))


def confirmation_token(submission: WebSubmission) -> str:
    return signing.dumps(
        {"n": submission.ticket.number, "e": submission.confirmation_emailed}, salt=CONFIRMATION_SALT, compress=True
    )


def confirmation_read(token: str) -> dict | None:
    try:
        return signing.loads(token, salt=CONFIRMATION_SALT, max_age=24 * 3600)
    except signing.BadSignature:
        return None


# --- Magic sign-in links -----------------------------------------------------------------------


def magic_link_max_age() -> int:
    return int(getattr(settings, "PORTAL_MAGIC_LINK_MAX_AGE", 15 * 60))


def _login_state(customer: Customer) -> str:
    """Changes whenever the customer signs in, so a link stops working once used."""
    user = customer.user
    state = f"{customer.pk}:{user.pk}:{user.last_login}:{user.password}" if user is not None else f"{customer.pk}:-"
    return hashlib.sha256(state.encode()).hexdigest()[:32]


def magic_link_token(customer: Customer) -> str:
    return signing.dumps(
        {"c": customer.pk, "s": _login_state(customer), "r": secrets.token_hex(8)}, salt=MAGIC_LINK_SALT
    )


def magic_link_request(*, email: str, base_url: str) -> bool:
    """Email a sign-in link when `email` belongs to a customer. The caller shows the same page
    either way, so nobody learns which addresses are known. Returns whether a link was sent."""
    try:
        address = normalize(IdentityKind.EMAIL, email)
    except InvalidIdentity:
        return False
    identity = Identity.objects.select_related("customer__user").filter(kind=IdentityKind.EMAIL, value=address).first()
    if identity is None:
        return False
    if rate_limit_hit(scope="magic", key=address, limit=limit_per_address()):
        logger.info("Not sending a sign-in link: %s reached the hourly limit", address)
        return False
    customer = identity.customer
    link = base_url.rstrip("/") + reverse("portal:magic_login", args=[magic_link_token(customer)])
    with translation.override(customer_language(customer)):
        context = {"customer": customer, "link": link, "minutes": magic_link_max_age() // 60}
        subject = _("Your sign-in link")
        body = render_to_string("portal/email/magic_link.txt", context).strip()
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address])
    return True


class MagicLinkInvalid(Exception):
    pass


def _magic_link_data(token: str) -> dict:
    try:
        return signing.loads(token, salt=MAGIC_LINK_SALT, max_age=magic_link_max_age())
    except signing.SignatureExpired as exc:
        raise MagicLinkInvalid(_("This sign-in link has expired.")) from exc
    except signing.BadSignature as exc:
        raise MagicLinkInvalid(_("This sign-in link is not valid.")) from exc


def _magic_link_customer(data: dict, queryset) -> Customer:
    customer = queryset.filter(pk=data.get("c")).first()
    if customer is None or data.get("s") != _login_state(customer):
        raise MagicLinkInvalid(_("This sign-in link has already been used."))
    user = customer.user
    if user is not None and (not user.is_active or user.is_staff or hasattr(user, "agent_profile")):
        # Staff and agents sign in with their password only, never by a link sent to an address.
        raise MagicLinkInvalid(_("This sign-in link is not valid."))
    return customer


def magic_link_check(token: str) -> Customer:
    """The customer a valid, unexpired, unused link is for; else MagicLinkInvalid."""
    return _magic_link_customer(_magic_link_data(token), Customer.objects.select_related("user"))


@dataclass(frozen=True)
class MagicLogin:
    customer: Customer
    user: AbstractBaseUser


def magic_link_redeem(token: str) -> MagicLogin:
    """Spend the link and return the customer's portal login, creating it on first use. Under
    the customer's row lock the login state changes, so the same link never works twice."""
    data = _magic_link_data(token)
    with transaction.atomic():
        customer = _magic_link_customer(data, Customer.objects.select_for_update(of=("self",)).select_related("user"))
        User = get_user_model()
        if customer.user is None:
            user = User.objects.create_user(
                username=f"customer-{customer.pk}-{secrets.token_hex(4)}", email=customer_email(customer)
            )
            customer.user = user
            customer.save(update_fields=["user"])
        User.objects.filter(pk=customer.user.pk).update(last_login=timezone.now())
        customer.user.refresh_from_db()
        # Identity verified: whoever opened the link reads this mailbox.
        Identity.objects.filter(customer=customer, kind=IdentityKind.EMAIL).update(verified=True)
    return MagicLogin(customer=customer, user=customer.user)
