"""Customers and organizations: directory with search, profiles with the cross-channel history,
and the customer edit form (through tickets.services.directory)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ..forms import CustomerEditForm, CustomerSearchForm
from ..models import Customer, Organization
from ..selectors import (
    customer_directory_list,
    customer_history,
    customer_ticket_list,
    organization_directory_list,
    organization_ticket_list,
)
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
