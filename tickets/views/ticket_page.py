"""The ticket page: timeline, composer (reply, note, macro, send and set status), the editable
fields, merging, and the customer sidebar."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ..forms import LinkForm, MergeForm, ReplyForm, TicketFieldsForm
from ..models import Macro, Ticket, TicketLinkKind, TicketStatus
from ..selectors import (
    customer_recent_tickets,
    macro_list_for,
    ticket_get,
    ticket_link_list,
    ticket_reply_channels,
    ticket_timeline,
)
from ..services.events import Actor
from ..services.tickets import ticket_merge, ticket_tags_set, ticket_update
from ..services.workspace import (
    SERVICE_ERRORS,
    composer_max_attachment_bytes,
    error_text,
    macro_action_lines,
    macro_render,
    macro_status,
    ticket_link_create,
    ticket_link_delete,
    ticket_respond,
)
from ..sla.explain import sla_explain
from .common import agent_required, form_error_messages

# Channels add what the composer shows for them (SMS counter, WhatsApp window and templates,
# the Call button) by registering a provider here from their AppConfig.ready(): `tickets`
# imports no concrete channel. A provider is called with keyword arguments ticket, user,
# channels (the reply channels offered), identities (the customer's, already loaded) and body
# (the composer's text) and returns a dict merged into the page's `composer` context; it
# should run no query unless its channel is among `channels`.
ComposerProvider = Callable[..., dict[str, Any]]
_composer_providers: list[ComposerProvider] = []


def composer_provider_register(provider: ComposerProvider) -> ComposerProvider:
    if provider not in _composer_providers:
        _composer_providers.append(provider)
    return provider


def _composer_context(
    request: HttpRequest, ticket: Ticket, reply_form: ReplyForm, identities: list[Any]
) -> dict[str, Any]:
    channels = [value for value, _label in reply_form.fields["channel"].choices if value]
    selected = reply_form["channel"].value() or (channels[0] if channels else "")
    context: dict[str, Any] = {"selected_channel": selected}
    body = reply_form["body"].value() or ""
    for provider in _composer_providers:
        context.update(provider(ticket=ticket, user=request.user, channels=channels, identities=identities, body=body))
    return context


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
    identities = list(ticket.requester.identities.order_by("kind", "value"))
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
            "identities": identities,
            "composer": _composer_context(request, ticket, reply_form, identities),
            "recent_tickets": customer_recent_tickets(user=user, customer_id=ticket.requester_id, exclude_id=ticket.pk),
            "sla_lines": sla_explain(ticket),
            "links": ticket_link_list(ticket=ticket, user=user),
            "link_form": LinkForm(prefix="link"),
            "link_kinds": TicketLinkKind.choices,
            "max_attachment_bytes": composer_max_attachment_bytes(),
        },
    )


@agent_required
def ticket_live(request: HttpRequest, number: int) -> JsonResponse:
    """The parts of the ticket page that change under an agent's eyes (the timeline, status
    and assignee), for the page's script to swap in when a live event arrives."""
    ticket = ticket_get(user=request.user, number=number)
    context = {"ticket": ticket, "timeline": ticket_timeline(ticket=ticket, user=request.user)}
    return JsonResponse(
        {
            "timeline": render_to_string("tickets/_timeline.html", context, request=request),
            "facts": render_to_string("tickets/_live_facts.html", context, request=request),
            "status": ticket.status,
        }
    )


@require_POST
@agent_required
def ticket_link_submit(request: HttpRequest, number: int) -> HttpResponse:
    ticket = ticket_get(user=request.user, number=number)
    form = LinkForm(request.POST, prefix="link")
    if not form.is_valid():
        for error in form_error_messages(form):
            messages.error(request, error)
        return redirect("agent:ticket", number=ticket.number)
    target_number = form.cleaned_data["target"]
    try:
        target = ticket_get(user=request.user, number=target_number)
    except Http404:
        messages.error(request, _("There is no ticket #%(number)s that you can see.") % {"number": target_number})
        return redirect("agent:ticket", number=ticket.number)
    try:
        ticket_link_create(source=ticket, target=target, kind=form.cleaned_data["kind"], user=request.user)
    except SERVICE_ERRORS as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Linked to #%(number)s.") % {"number": target.number})
    return redirect("agent:ticket", number=ticket.number)


@require_POST
@agent_required
def ticket_unlink_submit(request: HttpRequest, number: int, link_id: int) -> HttpResponse:
    ticket = ticket_get(user=request.user, number=number)
    found = next(
        (item["link"] for item in ticket_link_list(ticket=ticket, user=request.user) if item["link"].pk == link_id),
        None,
    )
    if found is None:
        raise Http404("No such link.")
    try:
        ticket_link_delete(link=found, user=request.user)
    except SERVICE_ERRORS as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Link removed."))
    return redirect("agent:ticket", number=ticket.number)


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

    files = request.FILES.getlist("reply-attachments")
    try:
        message = ticket_respond(
            ticket=ticket,
            user=request.user,
            body=data["body"],
            is_internal=form.is_internal,
            channel=data["channel"] or None,
            status=data["status"],
            macro=data["applied_macro"],
            files=files,
        )
    except SERVICE_ERRORS as exc:
        messages.error(request, error_text(exc))
        if files:
            messages.warning(request, _("Nothing was sent. Your text is kept below; choose the files again."))
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
