"""Customer-facing pages at /support/: the web form (also embeddable), sign-in and "my tickets"."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.views import LoginView, LogoutView, redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from channels_inbox.webform.services import WebSubmissionFailed
from tickets.customer_messages import customer_language
from tickets.models import UNSOLVED_STATUSES, TicketStatus
from tickets.services.tickets import TicketTransitionError

from . import selectors, services
from .forms import MagicLinkForm, RatingForm, ReplyForm, RequestForm


def _customer_of(request: HttpRequest):
    user = request.user
    return getattr(user, "customer", None) if user.is_authenticated else None


def _speak_customer_language(request: HttpRequest) -> None:
    """The page's language: `?lang=` when given (e.g. in an embedding site's iframe), else the
    signed-in customer's own; else what LocaleMiddleware chose (the language selector's
    cookie, then the browser's Accept-Language)."""
    asked = request.GET.get("lang", "")
    customer = _customer_of(request)
    if asked in dict(settings.LANGUAGES):
        language = asked
    elif customer is not None:
        language = customer_language(customer)
    else:
        return
    translation.activate(language)
    request.LANGUAGE_CODE = language


def portal_page(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        _speak_customer_language(request)
        return view(request, *args, **kwargs)

    return wrapper


def customer_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("portal:login"))
        if _customer_of(request) is None:
            raise PermissionDenied
        _speak_customer_language(request)
        return view(request, *args, **kwargs)

    return wrapper


def _remote_addr(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _rate_limited(request: HttpRequest, template: str) -> HttpResponse:
    response = render(request, template, {"embed": template.endswith("_embed.html")}, status=429)
    response["Retry-After"] = "3600"
    return response


def _frame_ancestors(response: HttpResponse, request: HttpRequest) -> HttpResponse:
    """The site's strict policy, except that the allowed origins may frame the embed."""
    from helpdesk.security import content_security_policy

    origins = [o for o in getattr(settings, "PORTAL_EMBED_ALLOWED_ORIGINS", []) if o]
    policy = content_security_policy(nonce=getattr(request, "csp_nonce", None))
    response["Content-Security-Policy"] = policy.replace(
        "frame-ancestors 'none'", "frame-ancestors " + (" ".join(origins) if origins else "'none'")
    )
    return response


def _request_form(request: HttpRequest, *, embed: bool) -> HttpResponse:
    template = "portal/request_form.html"
    thanks = "portal:embed_thanks" if embed else "portal:thanks"
    limited = "portal/rate_limited_embed.html" if embed else "portal/rate_limited.html"
    customer = _customer_of(request)
    if request.method == "POST":
        form = RequestForm(request.POST, request.FILES)
        valid = form.is_valid()
        if valid or form.is_spam:
            if services.rate_limit_hit(scope="ip", key=_remote_addr(request), limit=services.limit_per_ip()):
                return _rate_limited(request, limited)
        if form.is_spam:
            return redirect(thanks)  # Refused silently: a bot learns nothing.
        if valid:
            address = form.cleaned_data["email"].strip().lower()
            if services.rate_limit_hit(scope="address", key=address, limit=services.limit_per_address()):
                return _rate_limited(request, limited)
            try:
                submission = services.portal_request_submit(
                    name=form.cleaned_data["name"],
                    email=form.cleaned_data["email"],
                    subject=form.cleaned_data["subject"],
                    description=form.cleaned_data["description"],
                    category=form.cleaned_data["category"],
                    language=translation.get_language() or "",
                    uploads=form.uploads(),
                    remote_addr=_remote_addr(request),
                )
            except WebSubmissionFailed:
                form.add_error(None, _("We could not take your request just now. Please try again or write to us."))
            else:
                _kb_submission_record(request)
                query = {"r": services.confirmation_token(submission)}
                if request.GET.get("lang") in dict(settings.LANGUAGES):
                    query["lang"] = request.GET["lang"]
                return redirect(reverse(thanks) + "?" + urlencode(query))
    else:
        initial = {}
        if customer is not None:
            initial = {"name": customer.name, "email": services.customer_email(customer)}
        form = RequestForm(initial=initial)
    return render(request, template, {"form": form, "embed": embed})


def _kb_submission_record(request: HttpRequest) -> None:
    """A visitor who read or was shown help-centre articles sent a request anyway: recorded on
    the server too (the form's beacon is missed without JavaScript), for deflection counting."""
    visitor_key = request.session.get("kb_visitor")
    if not visitor_key:
        return
    from kb.models import SuggestionOutcomeKind, SuggestionSource
    from kb.services import suggestion_outcome_record

    suggestion_outcome_record(
        source=SuggestionSource.WEB_FORM, visitor_key=visitor_key, outcome=SuggestionOutcomeKind.SUBMITTED
    )


@require_http_methods(["GET", "POST"])
@portal_page
def request_form(request: HttpRequest) -> HttpResponse:
    return _request_form(request, embed=False)


@xframe_options_exempt
@require_http_methods(["GET", "POST"])
@portal_page
def request_form_embed(request: HttpRequest) -> HttpResponse:
    return _frame_ancestors(_request_form(request, embed=True), request)


def _thanks(request: HttpRequest, *, embed: bool) -> HttpResponse:
    confirmation = services.confirmation_read(request.GET.get("r", ""))
    context = {
        "embed": embed,
        "number": confirmation["n"] if confirmation else None,
        "emailed": bool(confirmation and confirmation.get("e")),
    }
    return render(request, "portal/thanks.html", context)


@require_GET
@portal_page
def thanks(request: HttpRequest) -> HttpResponse:
    return _thanks(request, embed=False)


@xframe_options_exempt
@require_GET
@portal_page
def thanks_embed(request: HttpRequest) -> HttpResponse:
    return _frame_ancestors(_thanks(request, embed=True), request)


# --- Signing in ----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@portal_page
def sign_in(request: HttpRequest) -> HttpResponse:
    if _customer_of(request) is not None:
        return redirect("portal:tickets")
    form = MagicLinkForm(request.POST or None)
    next_path = services.portal_next_path(request.POST.get("next") or request.GET.get("next") or "")
    if request.method == "POST" and form.is_valid():
        services.magic_link_request(
            email=form.cleaned_data["email"], base_url=request.build_absolute_uri("/"), next_path=next_path
        )
        # The same answer whether or not we know the address.
        return redirect("portal:link_sent")
    return render(request, "portal/sign_in.html", {"form": form, "next": next_path})


@require_GET
@portal_page
def link_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/link_sent.html", {"minutes": services.magic_link_max_age() // 60})


@require_http_methods(["GET", "POST"])
@portal_page
def magic_login(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks for a click (mail scanners that fetch links must not spend them); POST signs in."""
    try:
        if request.method == "POST":
            result = services.magic_link_redeem(token)
            login(request, result.user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect(result.next_path or reverse("portal:tickets"))
        services.magic_link_check(token)
    except services.MagicLinkInvalid as exc:
        return render(request, "portal/link_invalid.html", {"reason": str(exc)}, status=400)
    return render(request, "portal/link_confirm.html")


class PasswordLoginView(LoginView):
    template_name = "portal/password_login.html"
    redirect_authenticated_user = False

    def get_success_url(self) -> str:
        return self.get_redirect_url() or reverse("portal:tickets")

    def dispatch(self, request, *args, **kwargs):
        _speak_customer_language(request)
        return super().dispatch(request, *args, **kwargs)


class PortalLogoutView(LogoutView):
    next_page = "portal:login"


# --- My tickets ----------------------------------------------------------------------------------


@require_GET
@customer_required
def my_tickets(request: HttpRequest) -> HttpResponse:
    lists = selectors.portal_ticket_lists(customer=request.user.customer)
    return render(request, "portal/ticket_list.html", {"lists": lists})


def _ticket_context(request: HttpRequest, ticket, *, form: ReplyForm, rating_form: RatingForm | None = None) -> dict:
    customer = request.user.customer
    rating = selectors.portal_rating_get(customer=customer, ticket=ticket)
    if rating_form is None and rating.can_rate:
        initial = {}
        if rating.csat is not None:
            initial = {"csat": rating.csat.score, "ces": rating.ces.score if rating.ces else None}
        rating_form = RatingForm(initial=initial)
    return {
        "ticket": ticket,
        "timeline": selectors.portal_ticket_messages(ticket=ticket),
        "form": form,
        "mine": ticket.requester_id == customer.pk,
        "can_reply": ticket.status != TicketStatus.CLOSED,
        "can_solve": ticket.status in UNSOLVED_STATUSES,
        "rating": rating,
        "rating_form": rating_form,
    }


@require_http_methods(["GET", "POST"])
@customer_required
def ticket_page(request: HttpRequest, number: int) -> HttpResponse:
    customer = request.user.customer
    ticket = selectors.portal_ticket_get(customer=customer, number=number)
    form = ReplyForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if ticket.status == TicketStatus.CLOSED:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.portal_reply(
                    customer=customer,
                    ticket=ticket,
                    body=form.cleaned_data["body"],
                    uploads=form.uploads(),
                    remote_addr=_remote_addr(request),
                )
            except (WebSubmissionFailed, PermissionDenied) as exc:
                form.add_error(None, str(exc) or _("We could not add your reply. Please try again."))
            else:
                messages.success(request, _("Your reply has been added."))
                return redirect("portal:ticket", number=ticket.number)
    return render(request, "portal/ticket_page.html", _ticket_context(request, ticket, form=form))


@require_POST
@customer_required
def ticket_solve(request: HttpRequest, number: int) -> HttpResponse:
    ticket = selectors.portal_ticket_get(customer=request.user.customer, number=number)
    try:
        services.portal_ticket_solve(customer=request.user.customer, ticket=ticket)
    except TicketTransitionError:
        messages.error(request, _("This request cannot be closed now."))
    else:
        messages.success(request, _("Thank you! We have marked your request as solved."))
    return redirect("portal:ticket", number=ticket.number)


@require_POST
@customer_required
def ticket_rate(request: HttpRequest, number: int) -> HttpResponse:
    customer = request.user.customer
    ticket = selectors.portal_ticket_get(customer=customer, number=number)
    form = RatingForm(request.POST)
    if not form.is_valid():
        context = _ticket_context(request, ticket, form=ReplyForm(), rating_form=form)
        return render(request, "portal/ticket_page.html", context, status=400)
    try:
        services.portal_rating_submit(
            customer=customer,
            ticket=ticket,
            csat=form.cleaned_data["csat"],
            ces=form.cleaned_data.get("ces"),
            comment=form.cleaned_data.get("comment") or "",
        )
    except services.RatingClosed as exc:
        raise PermissionDenied from exc
    messages.success(request, _("Thank you for rating our help."))
    return redirect("portal:ticket", number=ticket.number)


@require_GET
@customer_required
def attachment_download(request: HttpRequest, number: int, attachment_id: int) -> FileResponse:
    ticket = selectors.portal_ticket_get(customer=request.user.customer, number=number)
    attachment = selectors.portal_attachment_get(ticket=ticket, attachment_id=attachment_id)
    response = FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.filename)
    response["Content-Type"] = "application/octet-stream"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- The link in the confirmation email, and the language selector ---------------------------------


@require_GET
@portal_page
def ticket_link(request: HttpRequest, token: str) -> HttpResponse:
    """The request, read-only, for whoever holds the emailed link; the full page when the
    customer is signed in and may see it."""
    ticket = services.ticket_link_ticket(token)
    if ticket is None:
        return render(
            request,
            "portal/link_invalid.html",
            {"reason": _("This link is not valid or has expired.")},
            status=404,
        )
    customer = _customer_of(request)
    if customer is not None and selectors.portal_ticket_visible(customer=customer, ticket=ticket):
        return redirect("portal:ticket", number=ticket.number)
    if customer is None:
        # The emailed link speaks the requester's language, like the email did.
        language = customer_language(ticket.requester)
        if not request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) and not request.GET.get("lang"):
            translation.activate(language)
            request.LANGUAGE_CODE = language
    context = {
        "ticket": ticket,
        "timeline": selectors.portal_ticket_messages(ticket=ticket),
        "read_only": True,
    }
    response = render(request, "portal/ticket_page.html", context)
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """The language selector of the customer pages: remembered in a cookie, and on the
    customer's record when signed in (their emails follow it too)."""
    language = request.POST.get("language", "")
    next_url = request.POST.get("next") or reverse("portal:request")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("portal:request")
    response = redirect(next_url)
    if language not in dict(settings.LANGUAGES):
        return response
    customer = _customer_of(request)
    if customer is not None:
        services.portal_customer_language_set(customer=customer, language=language)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE or 365 * 24 * 3600,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response
