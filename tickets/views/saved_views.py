"""Saved views: save the list's filters under a name, rename, share, update, delete."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ..forms import SavedViewForm
from ..selectors import saved_view_get
from ..services.workspace import (
    SERVICE_ERRORS,
    error_text,
    saved_view_create,
    saved_view_delete,
    saved_view_update,
)
from .common import agent_required, form_error_messages


def _list_url(query: str, view_id: int | None = None) -> str:
    url = reverse("agent:home")
    parts = [p for p in (query, f"view={view_id}" if view_id else "") if p]
    return f"{url}?{'&'.join(parts)}" if parts else url


@require_POST
@agent_required
def saved_view_create_submit(request: HttpRequest) -> HttpResponse:
    form = SavedViewForm(request.POST, user=request.user)
    if not form.is_valid():
        for error in form_error_messages(form):
            messages.error(request, error)
        return redirect(_list_url(request.POST.get("query", "")))
    data = form.cleaned_data
    try:
        view = saved_view_create(user=request.user, name=data["name"], query=data["query"], team=data["team"])
    except SERVICE_ERRORS as exc:
        messages.error(request, error_text(exc))
        return redirect(_list_url(data["query"]))
    messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
    return redirect(_list_url(view.query, view.pk))


@require_POST
@agent_required
def saved_view_update_submit(request: HttpRequest, pk: int) -> HttpResponse:
    view = saved_view_get(user=request.user, pk=pk)
    if request.POST.get("delete"):
        try:
            saved_view_delete(view=view, user=request.user)
        except SERVICE_ERRORS as exc:
            messages.error(request, error_text(exc))
            return redirect(_list_url(view.query, view.pk))
        messages.success(request, _("View “%(name)s” deleted.") % {"name": view.name})
        return redirect("agent:home")
    form = SavedViewForm(request.POST, user=request.user)
    if not form.is_valid():
        for error in form_error_messages(form):
            messages.error(request, error)
        return redirect(_list_url(view.query, view.pk))
    data = form.cleaned_data
    try:
        saved_view_update(
            view=view,
            user=request.user,
            name=data["name"],
            team=data["team"],
            query=data["query"] if data["replace_filters"] else None,
        )
    except SERVICE_ERRORS as exc:
        messages.error(request, error_text(exc))
        return redirect(_list_url(view.query, view.pk))
    messages.success(request, _("View “%(name)s” updated.") % {"name": view.name})
    return redirect(_list_url(view.query, view.pk))
