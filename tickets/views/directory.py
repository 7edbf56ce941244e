"""Customers and organizations: directory with search, profiles with the cross-channel history,
the customer edit form (through tickets.services.directory), and merging two customers with a
confirmation page and an undo (through tickets.services.customer_merge)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ..forms import CustomerEditForm, CustomerSearchForm
from ..models import Customer, CustomerMergeRecord, Organization, Ticket
from ..selectors import (
    customer_directory_list,
    customer_history,
    customer_ticket_list,
    organization_directory_list,
    organization_ticket_list,
)
from ..services.customer_merge import customer_merge, customer_merge_undo, customer_merge_undoable
from ..services.directory import customer_update
from ..services.events import Actor
from ..services.workspace import SERVICE_ERRORS, error_text
from .common import agent_required, form_error_messages

PAGE_SIZE = 50


def _may_view(request: HttpRequest) -> None:
    if not request.user.has_perm("tickets.view_customer"):
        raise PermissionDenied(_("Your role cannot see the customer directory."))


def _offset(request: HttpRequest) -> int:
    value = request.GET.get("offset", "")
    return min(int(value), 1_000_000) if value.isdigit() else 0


def _page(qs, offset: int) -> tuple[list, int | None, int | None]:
    rows = list(qs[offset : offset + PAGE_SIZE + 1])
    following = offset + PAGE_SIZE if len(rows) > PAGE_SIZE else None
    previous = max(offset - PAGE_SIZE, 0) if offset else None
    return rows[:PAGE_SIZE], following, previous


@agent_required
def customer_directory(request: HttpRequest) -> HttpResponse:
    _may_view(request)
    form = CustomerSearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    customers, following, previous = _page(
        customer_directory_list(query=query).prefetch_related("identities"), _offset(request)
    )
    return render(
        request,
        "tickets/customers.html",
        {"customers": customers, "query": query, "next_offset": following, "previous_offset": previous},
    )


def _customer_context(request: HttpRequest, customer: Customer, form: CustomerEditForm | None = None) -> dict:
    user = request.user
    initial = {
        "name": customer.name,
        "organization": customer.organization_id,
        "language": customer.language,
        "preferred_channel": customer.preferred_channel,
        "notes": customer.notes,
    }
    return {
        "customer": customer,
        "identities": customer.identities.order_by("kind", "value"),
        "tickets": customer_ticket_list(customer_id=customer.pk, user=user),
        "history": customer_history(customer_id=customer.pk, user=user),
        "form": form or CustomerEditForm(initial=initial),
        "can_edit": user.has_perm("tickets.change_customer"),
        "undoable_merges": customer_merge_undoable(customer=customer) if _can_merge(request) else [],
    }


@agent_required
def customer_profile(request: HttpRequest, pk: int) -> HttpResponse:
    _may_view(request)
    customer = get_object_or_404(Customer.objects.select_related("organization"), pk=pk)
    return render(request, "tickets/customer.html", _customer_context(request, customer))


@require_POST
@agent_required
def customer_edit_submit(request: HttpRequest, pk: int) -> HttpResponse:
    _may_view(request)
    if not request.user.has_perm("tickets.change_customer"):
        raise PermissionDenied(_("Your role cannot edit customers."))
    customer = get_object_or_404(Customer.objects.select_related("organization"), pk=pk)
    form = CustomerEditForm(request.POST)
    if not form.is_valid():
        for error in form_error_messages(form):
            messages.error(request, error)
        return render(request, "tickets/customer.html", _customer_context(request, customer, form), status=400)
    data = form.cleaned_data
    changes = {name: data[name] for name in ("name", "organization", "language", "preferred_channel", "notes")}
    try:
        customer_update(customer=customer, changes=changes, actor=Actor.agent(request.user))
    except SERVICE_ERRORS as exc:
        messages.error(request, error_text(exc))
        return render(request, "tickets/customer.html", _customer_context(request, customer, form), status=400)
    messages.success(request, _("Customer saved."))
    return redirect("agent:customer", pk=customer.pk)


@agent_required
def organization_directory(request: HttpRequest) -> HttpResponse:
    _may_view(request)
    form = CustomerSearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    organizations, following, previous = _page(organization_directory_list(query=query), _offset(request))
    return render(
        request,
        "tickets/organizations.html",
        {"organizations": organizations, "query": query, "next_offset": following, "previous_offset": previous},
    )


@agent_required
def organization_profile(request: HttpRequest, pk: int) -> HttpResponse:
    _may_view(request)
    organization = get_object_or_404(Organization, pk=pk)
    customers = list(organization.customers.prefetch_related("identities").order_by("name", "id")[:200])
    return render(
        request,
        "tickets/organization.html",
        {
            "organization": organization,
            "domains": organization.domains.all(),
            "customers": customers,
            "tickets": organization_ticket_list(organization_id=organization.pk, user=request.user),
        },
    )


# --- Merging two customers -----------------------------------------------------------------------


def _can_merge(request: HttpRequest) -> bool:
    """The same rule as the merge service's permission check."""
    return request.user.has_perm("tickets.change_customer")


def _may_merge(request: HttpRequest) -> None:
    _may_view(request)
    if not _can_merge(request):
        raise PermissionDenied(_("Your role cannot merge customers."))


def _merge_side(customer: Customer) -> dict:
    return {
        "customer": customer,
        "identities": list(customer.identities.order_by("kind", "value")),
        "ticket_count": Ticket.objects.filter(requester=customer).count(),
    }


@agent_required
def customer_merge_page(request: HttpRequest, pk: int) -> HttpResponse:
    """GET ?source=<id or search words>: a confirmation page showing both customers (the
    source is merged into this one and deleted), or the customers matching the search."""
    _may_merge(request)
    target = get_object_or_404(Customer.objects.select_related("organization"), pk=pk)
    wanted = " ".join(request.GET.get("source", "").split())
    context: dict = {"target": target, "query": wanted}
    if not wanted:
        messages.error(request, _("Give the id, name or an address of the customer to merge into this one."))
        return redirect("agent:customer", pk=target.pk)
    source = None
    if wanted.lstrip("#").isdigit():
        source = Customer.objects.select_related("organization").filter(pk=int(wanted.lstrip("#"))).first()
    if source is None:
        candidates = list(
            customer_directory_list(query=wanted).exclude(pk=target.pk).prefetch_related("identities")[:20]
        )
        if len(candidates) == 1:
            source = candidates[0]
        else:
            context["candidates"] = candidates
            return render(request, "tickets/customer_merge.html", context)
    if source.pk == target.pk:
        messages.error(request, _("A customer cannot be merged into itself."))
        return redirect("agent:customer", pk=target.pk)
    sides = [_merge_side(source), _merge_side(target)]
    context.update(
        {"source": sides[0], "kept": sides[1], "sides": sides, "undo_days": settings.HELPDESK_MERGE_UNDO_DAYS}
    )
    return render(request, "tickets/customer_merge.html", context)


@require_POST
@agent_required
def customer_merge_submit(request: HttpRequest, pk: int) -> HttpResponse:
    _may_merge(request)
    target = get_object_or_404(Customer, pk=pk)
    source_id = request.POST.get("source", "")
    source = Customer.objects.filter(pk=int(source_id)).first() if source_id.isdigit() else None
    if source is None:
        messages.error(request, _("That customer no longer exists; nothing was merged."))
        return redirect("agent:customer", pk=target.pk)
    name = str(source)
    try:
        customer_merge(source=source, target=target, actor=Actor.agent(request.user))
    except SERVICE_ERRORS as exc:
        messages.error(request, error_text(exc))
        return redirect("agent:customer", pk=target.pk)
    messages.success(
        request,
        _("%(source)s was merged into this customer. You can undo this for %(days)s days.")
        % {"source": name, "days": settings.HELPDESK_MERGE_UNDO_DAYS},
    )
    return redirect("agent:customer", pk=target.pk)


@require_POST
@agent_required
def customer_merge_undo_submit(request: HttpRequest, pk: int, record_id: int) -> HttpResponse:
    _may_merge(request)
    record = get_object_or_404(CustomerMergeRecord, pk=record_id, target_id=pk)
    try:
        source = customer_merge_undo(record=record, actor=Actor.agent(request.user))
    except SERVICE_ERRORS as exc:
        messages.error(request, error_text(exc))
        return redirect("agent:customer", pk=pk)
    messages.success(request, _("Merge undone: %(source)s is a separate customer again.") % {"source": source})
    return redirect("agent:customer", pk=source.pk)
