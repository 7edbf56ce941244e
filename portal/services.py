"""The customer portal's own rules: rate limits, magic sign-in links, customer logins, and the
customer's actions on a ticket (reply, solve). Messages enter only through the web channel."""

from __future__ import annotations

import datetime as dt
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
from metrics.models import InvitationStatus, Survey, SurveyKind
from metrics.services import survey_answer, survey_create_for_ticket
from tickets.customer_messages import customer_language, render_for_customer
from tickets.identities import InvalidIdentity, normalize
from tickets.models import Customer, Identity, IdentityKind, Ticket, TicketStatus
from tickets.services.events import Actor, event_record
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


def _may_open(customer: Customer, ticket: Ticket) -> bool:
    from .selectors import portal_ticket_visible

    return portal_ticket_visible(customer=customer, ticket=ticket)


def _join_as_follower(*, customer: Customer, ticket: Ticket) -> None:
    """A colleague answering an organization's request follows it, so the message threads onto
    it (ingest matches a ticket number for the requester and followers only) and the answers
    reach them too."""
    if ticket.requester_id == customer.pk or ticket.followers.filter(pk=customer.pk).exists():
        return
    ticket.followers.add(customer)
    event_record(obj=ticket, verb="follower_added", new=customer, actor=Actor.of_customer(customer))


def portal_reply(
    *, customer: Customer, ticket: Ticket, body: str, uploads: Iterable[WebUpload], remote_addr: str
) -> WebSubmission:
    """The customer's answer on a request they may see (their own, or their organization's
    where allowed), as an inbound web message on that ticket."""
    if not _may_open(customer, ticket):
        raise PermissionDenied
    address = customer_email(customer)
    if not address:
        raise PermissionDenied(_("Your account has no email address; please write to us by email."))
    _join_as_follower(customer=customer, ticket=ticket)
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
    if not _may_open(customer, ticket):
        raise PermissionDenied
    return ticket_change_status(ticket=ticket, status=TicketStatus.SOLVED, actor=Actor.of_customer(customer))


def portal_customer_language_set(*, customer: Customer, language: str) -> Customer:
    """Remember the language a signed-in customer picked: pages and emails use it from now on."""
    codes = {code for code, _name in settings.LANGUAGES}
    if language not in codes:
        raise ValueError(f"unknown language {language!r}")
    if customer.language != language:
        old = customer.language
        customer.language = language
        customer.save(update_fields=["language"])
        event_record(
            obj=customer, verb="changed", field="language", old=old, new=language, actor=Actor.of_customer(customer)
        )
    return customer


# --- Ratings ---------------------------------------------------------------------------------------


class RatingClosed(Exception):
    """The request cannot be rated (not the requester, not solved, or the window has passed)."""


def _survey_for_rating(*, ticket: Ticket, kind: str, now: dt.datetime) -> Survey:
    """The ticket's survey of `kind`, issued through metrics when one is due. A customer who
    rates of their own accord is counted even when the ticket fell outside the survey sample or
    the customer was surveyed recently: the survey is then issued here, with no invitation."""
    survey = survey_create_for_ticket(ticket=ticket, kind=kind, now=now)
    if survey is not None:
        return survey
    with transaction.atomic():
        survey, created = Survey.objects.get_or_create(
            ticket=ticket,
            kind=kind,
            defaults={
                "customer_id": ticket.requester_id,
                "key": secrets.token_urlsafe(24),
                "channel": ticket.channel,
                "agent_id": ticket.assignee_id,
                "team_id": ticket.team_id,
                "sent_at": now,
                "due_at": None,
                "invitation_status": InvitationStatus.SKIPPED,
                "skip_reason": "rated in the portal",
            },
        )
        if created:
            event_record(
                obj=survey,
                verb="survey_sent",
                actor=Actor.system(),
                ticket=ticket,
                data={"kind": kind, "via": "portal"},
            )
    return survey


def portal_rating_submit(
    *,
    customer: Customer,
    ticket: Ticket,
    csat: int,
    ces: int | None = None,
    comment: str = "",
    now: dt.datetime | None = None,
) -> tuple[Survey, Survey | None]:
    """Record the requester's rating of a solved or closed request: CSAT (1-5), optionally CES
    (1-7), and a comment (kept on the CSAT answer). Rating again within the window changes the
    answer. Goes through metrics' surveys, so it counts in the KPIs like any survey answer."""
    from .selectors import portal_rating_open

    now = now or timezone.now()
    if not portal_rating_open(customer=customer, ticket=ticket, now=now):
        raise RatingClosed
    csat_survey = survey_answer(
        survey=_survey_for_rating(ticket=ticket, kind=SurveyKind.CSAT, now=now),
        score=csat,
        comment=comment,
        now=now,
        via="portal",
    )
    ces_survey = None
    if ces is not None:
        ces_survey = survey_answer(
            survey=_survey_for_rating(ticket=ticket, kind=SurveyKind.CES, now=now), score=ces, now=now, via="portal"
        )
    return csat_survey, ces_survey


# --- Confirmation ----------------------------------------------------------------------------------


def confirmation_token(submission: WebSubmission) -> str:
    return signing.dumps(
        {"n": submission.ticket.number, "e": submission.confirmation_emailed}, salt=CONFIRMATION_SALT, compress=True
    )


def confirmation_read(token: str) -> dict | None:
    try:
        return signing.loads(token, salt=CONFIRMATION_SALT, max_age=24 * 3600)
    except signing.BadSignature:
        return None


# --- Secure link to one request (in the confirmation email) ---------------------------------------

TICKET_LINK_SALT = "portal.ticket-link"


def ticket_link_max_age() -> int:
    """Seconds the link in the confirmation email works (setting PORTAL_TICKET_LINK_MAX_AGE)."""
    return int(getattr(settings, "PORTAL_TICKET_LINK_MAX_AGE", 30 * 24 * 3600))


def ticket_link_token(ticket: Ticket) -> str:
    """Signed, for this ticket and its current requester only. It shows the request read-only
    (what the customer was told anyway, never internal notes) and signs nobody in, so the copy
    of it kept in the stored email gives an agent nothing they could not already see."""
    return signing.dumps({"t": ticket.pk, "c": ticket.requester_id}, salt=TICKET_LINK_SALT, compress=True)


def ticket_link_url(ticket: Ticket, *, base_url: str | None = None) -> str:
    base = (base_url if base_url is not None else settings.SITE_URL).rstrip("/")
    return base + reverse("portal:ticket_link", args=[ticket_link_token(ticket)])


def ticket_link_ticket(token: str) -> Ticket | None:
    """The ticket a valid, unexpired link is for, or None (forged, expired, requester changed)."""
    try:
        data = signing.loads(token, salt=TICKET_LINK_SALT, max_age=ticket_link_max_age())
    except signing.BadSignature:
        return None
    return Ticket.objects.select_related("requester").filter(pk=data.get("t"), requester_id=data.get("c")).first()


def ticket_link_text(ticket: Ticket) -> str:
    """The paragraph added to the confirmation email of a web form request, in the customer's
    language."""
    return render_for_customer(
        ticket.requester,
        "portal/email/ticket_link.txt",
        {"ticket": ticket, "link": ticket_link_url(ticket), "days": ticket_link_max_age() // 86400},
    )


# --- Magic sign-in links -----------------------------------------------------------------------


def magic_link_max_age() -> int:
    return int(getattr(settings, "PORTAL_MAGIC_LINK_MAX_AGE", 15 * 60))


def _login_state(customer: Customer) -> str:
    """Changes whenever the customer signs in, so a link stops working once used."""
    user = customer.user
    state = f"{customer.pk}:{user.pk}:{user.last_login}:{user.password}" if user is not None else f"{customer.pk}:-"
    return hashlib.sha256(state.encode()).hexdigest()[:32]


def portal_next_path(value: str) -> str:
    """`value` when it is a page of the portal (where to go after signing in), else ""."""
    prefix = reverse("portal:request")
    if value.startswith(prefix) and not value.startswith("//") and "\\" not in value and "\n" not in value:
        return value[:500]
    return ""


def magic_link_token(customer: Customer, next_path: str = "") -> str:
    data = {"c": customer.pk, "s": _login_state(customer), "r": secrets.token_hex(8)}
    if portal_next_path(next_path):
        data["n"] = portal_next_path(next_path)
    return signing.dumps(data, salt=MAGIC_LINK_SALT)


def magic_link_request(*, email: str, base_url: str, next_path: str = "") -> bool:
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
    link = base_url.rstrip("/") + reverse("portal:magic_login", args=[magic_link_token(customer, next_path)])
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
    next_path: str = ""


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
    return MagicLogin(customer=customer, user=customer.user, next_path=portal_next_path(str(data.get("n") or "")))
