"""Likely duplicate customers: pairs with their reasons, each linking to the kept customer's
profile where an agent confirms the merge."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ..duplicates import customer_duplicate_list
from .common import agent_required


@agent_required
def customer_duplicates(request: HttpRequest) -> HttpResponse:
    pairs = customer_duplicate_list(user=request.user)
    return render(request, "tickets/duplicates.html", {"pairs": pairs})
