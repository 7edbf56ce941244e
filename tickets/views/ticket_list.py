"""The agent's home: views (queues), filters, search, sort, pages and bulk actions."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from ..forms import SETTABLE_STATUSES, TICKET_SORTS, BulkActionForm, SavedViewForm, TicketListForm
from ..models import Channel, Customer, Organization, Team, TicketPriority, TicketStatus
from ..selectors import (
    agent_assignable_list,
    breaching_soon_hours,
    saved_view_list_for,
    ticket_due_at,
    ticket_due_value,
    ticket_list_rows,
    ticket_priority_rank,
    ticket_view_queryset,
    ticket_workspace_counts_cached,
)
from ..services.workspace import (
    saved_view_can_share,
    saved_view_may_change,
    saved_view_query_clean,
    ticket_bulk_apply,
)
from .common import agent_required, form_error_messages, safe_next
from .keyset import Key, keyset_page

PAGE_SIZE = 50
DEFAULT_QUEUE = "unsolved"
DEFAULT_SORT = "-updated"

# sort key -> the columns it orders by (the id last, to make the order total; numbers are
# unique already, so the number sort walks the unique index alone). Each order has an index
# over all tickets and one over unsolved ones (tickets migrations 0007, 0008, 0011).
_SORT_KEYS = {
    "updated": [Key("updated_at", False, "datetime")],
    "created": [Key("created_at", False, "datetime")],
    "number": [Key("number", False)],
    "priority": [Key("priority_rank", False), Key("updated_at", False, "datetime")],
    "due": [Key("due_at", False, "datetime")],
}
_PRIORITY_RANK = {value: rank for rank, value in enumerate(TicketPriority.values)}

# Parameters that belong to the list itself rather than to the FilterSet.
_LIST_PARAMS = ("queue", "q", "sort", "after", "before", "page", "view")


def _sort_keys(sort: str) -> list[Key]:
    descending = sort.startswith("-")
    keys = [Key(k.name, descending, k.kind) for k in _SORT_KEYS[sort.lstrip("-")]]
    if sort.lstrip("-") == "number":
        return keys
    return [*keys, Key("id", descending)]


def _value_of(ticket: Any, name: str) -> Any:
    if name == "priority_rank":
        return _PRIORITY_RANK.get(ticket.priority, 0)
    if name == "due_at":
        return ticket_due_value(ticket)
    return getattr(ticket, name)


def _query(params: QueryDict, **changes: str | None) -> str:
    """The current query string with some parameters replaced (None removes)."""
    query = params.copy()
    for key, value in changes.items():
        query.pop(key, None)
        if value:
            query[key] = value
    return query.urlencode()


@agent_required
def home(request: HttpRequest) -> HttpResponse:
    params = _non_empty(request.GET)
    controls = TicketListForm(params)
    controls.is_valid()
    queue = controls.value("queue", DEFAULT_QUEUE)
    sort = controls.value("sort", "due" if queue == "breaching" else DEFAULT_SORT)
    search = controls.value("q")

    views = saved_view_list_for(user=request.user)
    active_view = next((v for v in views if v.pk == controls.cleaned_data.get("view")), None)
    tickets, filterset = ticket_view_queryset(user=request.user, params=params)
    tickets = tickets.prefetch_related(None)  # ticket_list_rows reads the tags
    if sort.lstrip("-") == "priority":
        tickets = tickets.alias(priority_rank=ticket_priority_rank())
    elif sort.lstrip("-") == "due":
        tickets = tickets.alias(due_at=ticket_due_at())
    page = keyset_page(
        tickets,
        keys=_sort_keys(sort),
        size=PAGE_SIZE,
        after=controls.value("after"),
        before=controls.value("before"),
        value_of=_value_of,
    )
    ticket_list_rows(tickets=page.items)
    for key in ("after", "before", "page"):
        params.pop(key, None)
    counts = ticket_workspace_counts_cached(user=request.user, views=views)
    without_view = _query(params, view=None)
    save_view_form = SavedViewForm(user=request.user, initial={"query": without_view})
    # Read once, shown in several drop-downs (filters, bulk assign; save and edit view).
    agents = [(agent.pk, agent.get_full_name() or agent.get_username()) for agent in agent_assignable_list()]
    share_teams = list(save_view_form.fields["team"].queryset)
    return render(
        request,
        "tickets/home.html",
        {
            "queues": _queues(counts),
            "queue": queue,
            "search": search,
            "sort": sort,
            "sort_by_due": sort.lstrip("-") == "due",
            "sorts": TICKET_SORTS.items(),
            "page": page,
            "filterset": filterset,
            "f": params,
            "next_query": _query(params, after=page.next_cursor) if page.next_cursor else "",
            "previous_query": _query(params, before=page.previous_cursor) if page.previous_cursor else "",
            "filter_query": params.urlencode(),
            "list_url": f"{reverse('agent:home')}?{params.urlencode()}",
            "chips": _chips(params),
            "statuses": [*TicketStatus.choices, ("unsolved", _("Unsolved"))],
            "settable_statuses": [(s.value, s.label) for s in SETTABLE_STATUSES],
            "priorities": TicketPriority.choices,
            "channels": [c for c in Channel.choices if c[0] != Channel.INTERNAL],
            "teams": Team.objects.order_by("name"),
            "agents": agents,
            "share_teams": share_teams,
            "share_empty_label": save_view_form.fields["team"].empty_label,
            "has_filters": any(k not in _LIST_PARAMS for k in params) or bool(search),
            "saved_views": [(v, counts.get(f"view:{v.pk}"), _view_query(v)) for v in views],
            "active_view": active_view,
            "active_view_changed": bool(active_view) and saved_view_query_clean(without_view) != active_view.query,
            "save_view_form": save_view_form,
            "edit_view_form": _edit_form(request, active_view, without_view),
            "can_share_views": saved_view_can_share(request.user),
            "breaching_hours": breaching_soon_hours(),
        },
    )


def _view_query(view: Any) -> str:
    query = QueryDict(view.query, mutable=True)
    query["view"] = str(view.pk)
    return query.urlencode()


def _edit_form(request: HttpRequest, view: Any, current_query: str) -> SavedViewForm | None:
    if view is None or not saved_view_may_change(view=view, user=request.user):
        return None
    return SavedViewForm(user=request.user, initial={"name": view.name, "team": view.team_id, "query": current_query})


def _non_empty(query: QueryDict) -> QueryDict:
    """The query without empty values: a form's blank drop-down means "any", not "blank"."""
    kept = QueryDict(mutable=True)
    for key, values in query.lists():
        kept.setlist(key, [v for v in values if v.strip()])
        if not kept.getlist(key):
            del kept[key]
    return kept


def _queues(counts: dict[str, int]) -> list[tuple[str, str, int | None]]:
    labels = {
        "mine": _("My open tickets"),
        "unassigned": _("Unassigned"),
        "unsolved": _("All unsolved"),
        "pending": _("Pending"),
        "on_hold": _("On hold"),
        "breaching": _("Breaching soon"),
        "recently_solved": _("Recently solved"),
        "all": _("All tickets"),
    }
    return [(key, label, counts.get(key)) for key, label in labels.items()]


def _chips(params: QueryDict) -> list[dict[str, str]]:
    """Filters set by following a link (a customer, an organization) rather than in the form:
    shown as removable chips, since there are too many to list in a drop-down."""
    chips = []
    for key, model, label in (
        ("requester", Customer, _("Customer")),
        ("organization", Organization, _("Organization")),
    ):
        value = params.get(key, "")
        if value.isdigit():
            obj = model.objects.filter(pk=value).first()
            if obj is not None:
                chips.append(
                    {"name": key, "value": value, "label": f"{label}: {obj}", "remove": _query(params, **{key: None})}
                )
    return chips


@require_POST
@agent_required
def bulk(request: HttpRequest) -> HttpResponse:
    back = safe_next(request, reverse("agent:home"))
    form = BulkActionForm(request.POST)
    if not form.is_valid():
        for error in form_error_messages(form):
            messages.error(request, error)
        return redirect(back)
    data = form.cleaned_data
    value = {"assign": data["assignee"], "status": data["status"], "priority": data["priority"], "tag": data["tag"]}
    result = ticket_bulk_apply(
        user=request.user, numbers=data["tickets"], action=data["action"], value=value[data["action"]].strip()
    )
    if result.done:
        messages.success(
            request,
            ngettext(
                "Updated %(count)s ticket: %(numbers)s.", "Updated %(count)s tickets: %(numbers)s.", len(result.done)
            )
            % {"count": len(result.done), "numbers": ", ".join(f"#{n}" for n in result.done)},
        )
    for number, reason in result.failed:
        messages.error(request, _("#%(number)s not changed: %(reason)s") % {"number": number, "reason": reason})
    return redirect(back)
