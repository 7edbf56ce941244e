"""Sign-in with lockout, rate limit and a second factor; 2FA enrolment; the audit log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login

from tickets.services.events import Actor, event_record

from . import selectors
from .services import lockout, twofactor

PENDING_KEY = "accounts_2fa_pending"  # {"user": id, "backend": path, "next": url}
ENROL_KEY = "accounts_2fa_enrol_device"


def _locked_response(request: HttpRequest, template: str, context: dict[str, Any], until: dt.datetime) -> HttpResponse:
    context["locked_message"] = _(
        "Too many failed sign-ins for this account from your address. Try again in %(minutes)d minutes."
    ) % {"minutes": lockout.minutes_left(until)}
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(lockout.minutes_left(until) * 60)
    return response


def _safe_next(request: HttpRequest, url: str) -> str:
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return reverse(settings.LOGIN_REDIRECT_URL)


class SignInView(auth_views.LoginView):
    """Django's LoginView plus: a rate limit per address, a lockout per username and address,
    an audit event for each sign-in, and a second step for users with an authenticator."""

    template_name = "accounts/login.html"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        ip = lockout.client_ip(request)
        username = request.POST.get("username", "")
        if lockout.rate_hit(scope="login", key=ip, limit=int(getattr(settings, "LOGIN_RATE_PER_MINUTE", 20))):
            response = render(
                request,
                self.template_name,
                {
                    **self.get_context_data(),
                    "locked_message": _("Too many sign-in attempts. Wait a minute and try again."),
                },
                status=429,
            )
            response["Retry-After"] = "60"
            return response
        until = lockout.login_locked_until(username=username, ip_address=ip)
        if until is not None:
            return _locked_response(request, self.template_name, self.get_context_data(), until)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: Any) -> HttpResponse:
        ip = lockout.client_ip(self.request)
        username = self.request.POST.get("username", "")
        until = lockout.login_failure_record(username=username, ip_address=ip)
        user = get_user_model().objects.filter(username__iexact=username.strip()).first()
        if user is not None:
            event_record(
                obj=user, verb="sign_in_failed", data={"ip": ip, "locked": until is not None}, actor=Actor.system()
            )
        if until is not None:
            return _locked_response(self.request, self.template_name, self.get_context_data(form=form), until)
        return super().form_invalid(form)

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        ip = lockout.client_ip(self.request)
        lockout.login_failures_clear(username=self.request.POST.get("username", ""), ip_address=ip)
        if twofactor.user_has_device_remember(user):
            self.request.session.cycle_key()
            self.request.session[PENDING_KEY] = {
                "user": user.pk,
                "backend": user.backend,
                "next": self.get_success_url(),
                "username": user.get_username(),
            }
            return redirect("accounts:two_factor_verify")
        response = super().form_valid(form)
        event_record(obj=user, verb="signed_in", data={"ip": ip, "two_factor": False}, actor=Actor.agent(user))
        return response


@require_http_methods(["GET", "POST"])
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    """The second step: a code from the authenticator. Serves both a sign-in waiting for its
    second factor and a signed-in session that must still prove it (2FA became required)."""
    pending = request.session.get(PENDING_KEY)
    User = get_user_model()
    if pending:
        user = User.objects.filter(pk=pending["user"], is_active=True).first()
    elif request.user.is_authenticated:
        user = request.user
    else:
        return redirect(settings.LOGIN_URL)
    device = twofactor.totp_device_get(user) if user else None
    if user is None or device is None:
        request.session.pop(PENDING_KEY, None)
        return redirect(settings.LOGIN_URL)
    ip = lockout.client_ip(request)
    username = user.get_username()
    context: dict[str, Any] = {"username": username}
    if request.method == "POST":
        until = lockout.login_locked_until(username=username, ip_address=ip)
        if until is not None:
            request.session.pop(PENDING_KEY, None)
            return _locked_response(request, "accounts/two_factor_verify.html", context, until)
        if twofactor.totp_verify(device=device, token=request.POST.get("token", "")):
            lockout.login_failures_clear(username=username, ip_address=ip)
            next_url = pending["next"] if pending else request.GET.get("next", "")
            if pending:
                user.backend = pending["backend"]
                request.session.pop(PENDING_KEY, None)
                login(request, user, backend=pending["backend"])
            otp_login(request, device)
            event_record(obj=user, verb="signed_in", data={"ip": ip, "two_factor": True}, actor=Actor.agent(user))
            return HttpResponseRedirect(_safe_next(request, next_url))
        until = lockout.login_failure_record(username=username, ip_address=ip, stage="2fa")
        event_record(obj=user, verb="two_factor_failed", data={"ip": ip}, actor=Actor.system())
        if until is not None:
            request.session.pop(PENDING_KEY, None)
            return _locked_response(request, "accounts/two_factor_verify.html", context, until)
        context["error"] = _("That code is not right. Enter the 6-digit code your authenticator app shows now.")
    return render(request, "accounts/two_factor_verify.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Turn on two-factor sign-in: scan the QR code (or type the key), then confirm a code."""
    user = request.user
    if not twofactor.user_is_staff(user):
        raise PermissionDenied
    device = twofactor.totp_device_get(user)
    if device is not None and not user.is_verified():
        return redirect(f"{reverse('accounts:two_factor_verify')}?next={request.path}")
    if request.method == "POST" and request.POST.get("action") == "disable" and device is not None:
        if twofactor.two_factor_required(user):
            messages.error(request, _("Two-factor sign-in is required for administrators; it cannot be turned off."))
        elif not getattr(user, "is_verified", lambda: False)():
            messages.error(request, _("Sign in with your code first."))
        else:
            twofactor.totp_disable(user=user, actor=Actor.agent(user))
            messages.success(request, _("Two-factor sign-in is off."))
        return redirect("accounts:two_factor_setup")
    if device is not None:
        return render(request, "accounts/two_factor_setup.html", {"enabled": True, "device": device})
    pending = twofactor.totp_pending_get(user=user, device_id=request.session.get(ENROL_KEY))
    error = ""
    if request.method == "POST" and pending is not None:
        if twofactor.totp_enrol_confirm(
            user=user, device=pending, token=request.POST.get("token", ""), actor=Actor.agent(user)
        ):
            request.session.pop(ENROL_KEY, None)
            otp_login(request, pending)
            messages.success(
                request, _("Two-factor sign-in is on. You will be asked for a code each time you sign in.")
            )
            return redirect("accounts:two_factor_setup")
        error = _("That code is not right. Check the time on your phone and enter the code shown now.")
    if pending is None:
        pending = twofactor.totp_enrol_start(user=user)
        request.session[ENROL_KEY] = pending.pk
    uri = twofactor.otpauth_uri(pending)
    context = {
        "enabled": False,
        "otpauth_uri": uri,
        "secret": twofactor.secret_base32(pending),
        "qr_svg": twofactor.qr_svg(uri),
        "error": error,
        "required": twofactor.two_factor_required(user),
    }
    return render(request, "accounts/two_factor_setup.html", context)


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    """Admins: what staff did (audit events and Django admin changes), newest first."""
    if not twofactor.user_is_admin(request.user):
        raise PermissionDenied
    filters = selectors.AuditFilters.from_query(request.GET)
    rows, older = selectors.audit_entry_list(filters=filters)
    context = {"rows": rows, "filters": filters, "older": older, "verbs": selectors.audit_verbs()}
    return render(request, "accounts/audit_log.html", context)
