"""Customer-facing pages at /support/: the web form (also embeddable), sign-in and "my tickets"."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.views import LoginView, LogoutView, redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from channels_inbox.webform.services import WebSubmissionFailed
from tickets.customer_messages import customer_language
from tickets.models import UNSOLVED_STATUSES, Attachment, TicketStatus
from tickets.selectors import ticket_get, ticket_list, ticket_timeline
from tickets.services.tickets import TicketTransitionError

from . import services
from .forms import MagicLinkForm, ReplyForm, RequestForm


def _customer_of(request: HttpRequest):
    user = request.user
    return getattr(user, "customer", None) if user.is_authenticated else None


def _speak_customer_language(request: HttpRequest) -> None:
    """Signed-in customers read pages in their own language; others get the browser's."""
    customer = _customer_of(request)
    if customer is not None:
        language = customer_language(customer)
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
                return redirect(reverse(thanks) + "?r=" + services.confirmation_token(submission))
    else:
        initial = {}
        if customer is not None:
            initial = {"name": customer.name, "email": services.customer_email(customer)}
        form = RequestForm(initial=initial)
    return render(request, template, {"form": form, "embed": embed})


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
    if request.method == "POST" and form.is_valid():
        services.magic_link_request(email=form.cleaned_data["email"], base_url=request.build_absolute_uri("/"))
        # The same answer whether or not we know the address.
        return redirect("portal:link_sent")
    return render(request, "portal/sign_in.html", {"form": form})


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
            return redirect("portal:tickets")
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
    tickets = ticket_list(user=request.user)[:200]
    return render(request, "portal/ticket_list.html", {"tickets": tickets})


@require_http_methods(["GET", "POST"])
@customer_required
def ticket_page(request: HttpRequest, number: int) -> HttpResponse:
    customer = request.user.customer
    ticket = ticket_get(user=request.user, number=number)
    can_reply = ticket.status != TicketStatus.CLOSED
    form = ReplyForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if not can_reply:
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
    context = {
        "ticket": ticket,
        "timeline": ticket_timeline(ticket=ticket, user=request.user),
        "form": form,
        "can_reply": can_reply,
        "can_solve": ticket.status in UNSOLVED_STATUSES,
    }
    return render(request, "portal/ticket_page.html", context)


@require_POST
@customer_required
def ticket_solve(request: HttpRequest, number: int) -> HttpResponse:
    ticket = ticket_get(user=request.user, number=number)
    try:
        services.portal_ticket_solve(customer=request.user.customer, ticket=ticket)
    except TicketTransitionError:
        messages.error(request, _("This request cannot be closed now."))
    else:
        messages.success(request, _("Thank you! We have marked your request as solved."))
    return redirect("portal:ticket", number=ticket.number)


@require_GET
@customer_required
def attachment_download(request: HttpRequest, number: int, attachment_id: int) -> FileResponse:
    ticket = ticket_get(user=request.user, number=number)
    attachment = (
        Attachment.objects.filter(pk=attachment_id, message__ticket=ticket, message__is_internal=False, stored=True)
        .exclude(file="")
        .first()
    )
    if attachment is None:
        raise Http404
    response = FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.filename)
    response["Content-Type"] = "application/octet-stream"
    return response
