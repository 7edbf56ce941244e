"""What every workspace view shares."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _


def agent_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in, and an agent (or superuser); anyone else gets 403."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not (user.is_superuser or hasattr(user, "agent_profile")):
            raise PermissionDenied(_("This workspace is for agents."))
        return view(request, *args, **kwargs)

    return wrapped


def safe_next(request: HttpRequest, fallback: str) -> str:
    """The `next` address from the form when it points back into this site."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return fallback


def form_error_messages(form: Any) -> list[str]:
    """Every error of a form as a sentence for the page's messages, field errors named."""
    found = [str(e) for e in form.non_field_errors()]
    for name, errors in form.errors.items():
        if name == "__all__":
            continue
        label = form.fields[name].label if name in form.fields else ""
        found += [f"{label}: {e}" if label else str(e) for e in errors]
    return found
