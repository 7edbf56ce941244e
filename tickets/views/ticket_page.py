"""The ticket page: timeline, composer (reply, note, macro, send and set status), the editable
fields, merging, and the customer sidebar."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ..forms import MergeForm, ReplyForm, TicketFieldsForm
from ..models import Macro, Ticket, TicketStatus
from ..selectors import customer_recent_tickets, macro_list_for, ticket_get, ticket_reply_channels, ticket_timeline
from ..services.events import Actor
from ..services.tickets import ticket_merge, ticket_tags_set, ticket_update
from ..services.workspace import (
    SERVICE_ERRORS,
    error_text,
    macro_action_lines,
    macro_render,
    macro_status,
    ticket_respond,
)
from ..sla.explain import sla_explain
from .common import agent_required, form_error_messages


def _reply_form(request: HttpRequest, ticket: Ticket, data: Any = None, initial: Any = None) -> ReplyForm:
    return ReplyForm(
        data,
        initial=initial,
        channels=ticket_reply_channels(ticket=ticket),
        macros=macro_list_for(user=request.user),
        prefix="reply",
    )


def _fields_form(ticket: Ticket, tags: list[str], data: Any = None) -> TicketFieldsForm:
    initial = {
        "priority": ticket.priority,
        "type": ticket.type,
        "team": ticket.team_id,
        "assignee": ticket.assignee_id,
        "tags": ", ".join(tags),
    }
    return TicketFieldsForm(data, initial=initial, prefix="fields")


def _page(
    request: HttpRequest,
    ticket: Ticket,
    *,
    reply_form: ReplyForm | None = None,
    applied_macro: Macro | None = None,
) -> HttpResponse:
    user = request.user
    tags = [tag.name for tag in ticket.tags.all()]
    reply_form = reply_form or _reply_form(request, ticket)
    can_reply_publicly = user.has_perm("tickets.reply_publicly")
    if not can_reply_publicly and not reply_form.is_bound:
        reply_form.initial["kind"] = ReplyForm.INTERNAL
    return render(
        request,
        "tickets/ticket_detail.html",
        {
            "ticket": ticket,
            "timeline": ticket_timeline(ticket=ticket, user=user),
            "tags": tags,
            "reply_form": reply_form,
            "fields_form": _fields_form(ticket, tags),
            "merge_form": MergeForm(prefix="merge"),
            "can_reply_publicly": can_reply_publicly,
            "can_edit": user.has_perm("tickets.change_ticket"),
            "can_merge": user.has_perm("tickets.merge_ticket") and ticket.status != TicketStatus.CLOSED,
            "applied_macro": applied_macro,
            "applied_macro_lines": macro_action_lines(applied_macro),
            "identities": ticket.requester.identities.order_by("kind", "value"),
            "recent_tickets": customer_recent_tickets(user=user, customer_id=ticket.requester_id, exclude_id=ticket.pk),
            "sla_lines": sla_explain(ticket),
        },
    )


@agent_required
def ticket_detail(request: HttpRequest, number: int) -> HttpResponse:
    return _page(request, ticket_get(user=request.user, number=number))


@require_POST
@agent_required
def ticket_reply_submit(request: HttpRequest, number: int) -> HttpResponse:
    """Send (reply or note, macro changes, status), or fill the composer from a macro."""
    ticket = ticket_get(user=request.user, number=number)
    form = _reply_form(request, ticket, data=request.POST)
    if not form.is_valid():
        for error in form_error_messages(form):
            messages.error(request, error)
        return _page(request, ticket, reply_form=form)
    data = form.cleaned_data

    if data["intent"] == ReplyForm.USE_MACRO:
        macro = data["macro"]
        try:
            text = macro_render(macro=macro, ticket=ticket, agent=request.user)
        except SERVICE_ERRORS as exc:
            messages.error(request, error_text(exc))
            return _page(request, ticket, reply_form=form)
        draft = data["body"].rstrip()
        initial = {
            "body": f"{draft}\n\n{text}" if draft and text else (draft or text),
            "kind": data["kind"],
            "channel": data["channel"],
            "status": macro_status(macro) or data["status"],
            "applied_macro": macro.pk,
        }
        return _page(request, ticket, reply_form=_reply_form(request, ticket, initial=initial), applied_macro=macro)

    try:
        message = ticket_respond(
            ticket=ticket,
            user=request.user,
            body=data["body"],
            is_internal=form.is_internal,
            channel=data["channel"] or None,
            status=data["status"],
            macro=data["applied_macro"],
        )
    except SERVICE_ERRORS as exc:
        messages.error(request, error_text(exc))
        return _page(request, ticket, reply_form=form, applied_macro=data["applied_macro"])
    if message is None:
        messages.success(request, _("Ticket updated."))
    elif message.is_internal:
        messages.success(request, _("Internal note added."))
    else:
        messages.success(
            request, _("Reply queued for sending via %(channel)s.") % {"channel": message.get_channel_display()}
        )
    return redirect("agent:ticket", number=ticket.number)


@require_POST
@agent_required
def ticket_fields_submit(request: HttpRequest, number: int) -> HttpResponse:
    ticket = ticket_get(user=request.user, number=number)
    tags = [tag.name for tag in ticket.tags.all()]
    form = _fields_form(ticket, tags, data=request.POST)
    if not form.is_valid():
        for error in form_error_messages(form):
            messages.error(request, error)
        return redirect("agent:ticket", number=ticket.number)
    data = form.cleaned_data
    changes = {name: data[name] for name in ("priority", "type", "team", "assignee") if name in form.changed_data}
    actor = Actor.agent(request.user)
    try:
        if changes:
            ticket_update(ticket=ticket, changes=changes, actor=actor)
        if "tags" in form.changed_data:
            ticket_tags_set(ticket=ticket, names=form.cleaned_tags(), actor=actor)
    except SERVICE_ERRORS as exc:
        messages.error(request, error_text(exc))
    else:
        if changes or "tags" in form.changed_data:
            messages.success(request, _("Ticket updated."))
    return redirect("agent:ticket", number=ticket.number)


@require_POST
@agent_required
def ticket_merge_submit(request: HttpRequest, number: int) -> HttpResponse:
    ticket = ticket_get(user=request.user, number=number)
    form = MergeForm(request.POST, prefix="merge")
    if not form.is_valid():
        messages.error(request, _("Type the number of the ticket to merge into."))
        return redirect("agent:ticket", number=ticket.number)
    target_number = form.cleaned_data["target"]
    try:
        target = ticket_get(user=request.user, number=target_number)
    except Http404:
        messages.error(request, _("There is no ticket #%(number)s that you can see.") % {"number": target_number})
        return redirect("agent:ticket", number=ticket.number)
    try:
        ticket_merge(source=ticket, target=target, actor=Actor.agent(request.user))
    except SERVICE_ERRORS as exc:
        messages.error(request, error_text(exc))
        return redirect("agent:ticket", number=ticket.number)
    messages.success(
        request,
        _("Ticket #%(source)s was merged into this one.") % {"source": ticket.number},
    )
    return redirect(reverse("agent:ticket", args=[target.number]))
