"""Dashboard sub-pages: drill-down ticket lists, QA reviews, touchpoints, forecast."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from tickets.models import Channel, Ticket
from tickets.services.events import Actor

from . import charts
from .exports import csv_response
from .forecast import volume_forecast
from .forms import filters_from_request
from .models import QaReview, Scorecard
from .qa import qa_review_save, qa_reviewable_agents, scorecard_default_ensure
from .selectors import DRILLDOWN_KPIS, KPI_DEFINITIONS, drilldown_tickets
from .touchpoints import (
    TOUCHPOINT_DEFINITIONS,
    touchpoints_channels,
    touchpoints_churn,
    touchpoints_contacts,
    touchpoints_since,
    touchpoints_top_tags,
)
from .views import export_url, manager_required

PAGE_SIZE = 50


def _int(value: str | None, low: int, high: int) -> int | None:
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if low <= number <= high else None


@manager_required
def drilldown(request: HttpRequest) -> HttpResponse:
    """The tickets behind one dashboard number: ?kpi=... plus the dashboard's filters, and
    optionally day, weekday (1-7) and hour (0-23)."""
    kpi = request.GET.get("kpi", "created")
    if kpi not in DRILLDOWN_KPIS:
        raise Http404("No such figure.")
    _form, filters = filters_from_request({k: v for k, v in request.GET.items() if k != "kpi"})
    try:
        day = dt.date.fromisoformat(request.GET["day"]) if request.GET.get("day") else None
    except ValueError:
        day = None
    qs = drilldown_tickets(
        user=request.user,
        filters=filters,
        kpi=kpi,
        day=day,
        weekday=_int(request.GET.get("weekday"), 1, 7),
        hour=_int(request.GET.get("hour"), 0, 23),
    )
    if request.GET.get("export") == "tickets":
        rows = (
            (
                t.number,
                t.subject,
                t.status,
                t.channel,
                t.priority,
                t.team.name if t.team else "",
                t.assignee.username if t.assignee else "",
                t.created_at.isoformat(),
                t.solved_at.isoformat() if t.solved_at else "",
            )
            for t in qs[:50_000]
        )
        header = [
            _("Number"),
            _("Subject"),
            _("Status"),
            _("Channel"),
            _("Priority"),
            _("Team"),
            _("Assignee"),
            _("Created"),
            _("Solved"),
        ]
        return csv_response(f"tickets-{kpi}", header, rows)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "metrics/drilldown.html",
        {
            "kpi": kpi,
            "title": DRILLDOWN_KPIS[kpi],
            "definition": KPI_DEFINITIONS.get(
                kpi
                if kpi in KPI_DEFINITIONS
                else {
                    "responded": "frt",
                    "resolved": "resolution",
                    "solved": "volume",
                    "one_touch": "fcr",
                    "reopened": "reopen",
                    "sla_met": "sla",
                    "sla_missed": "sla",
                    "created": "volume",
                }.get(kpi, "volume")
            ),
            "filters": filters,
            "page": page,
            "weekday": charts.weekday_label(int(request.GET["weekday"]))
            if _int(request.GET.get("weekday"), 1, 7)
            else "",
            "hour": _int(request.GET.get("hour"), 0, 23),
            "day": day,
            "export_url": export_url(request, "tickets"),
            "query": request.GET.urlencode(),
        },
    )


@manager_required
def qa_list(request: HttpRequest) -> HttpResponse:
    """Recent reviews (newest first) and a box to review a ticket by number."""
    reviews = QaReview.objects.select_related("ticket", "agent", "reviewer", "scorecard")
    if request.GET.get("export") == "reviews":
        rows = (
            (
                r.ticket.number,
                r.agent.username,
                r.reviewer.username if r.reviewer else "",
                r.scorecard.name,
                r.score,
                r.comment,
                r.created_at.isoformat(),
            )
            for r in reviews[:50_000]
        )
        return csv_response(
            "qa-reviews",
            [_("Ticket"), _("Agent"), _("Reviewer"), _("Scorecard"), _("Score"), _("Comment"), _("Reviewed")],
            rows,
        )
    number = request.GET.get("ticket", "").strip().lstrip("#")
    if number:
        if number.isdigit() and Ticket.objects.filter(number=int(number)).exists():
            return redirect("metrics:qa_review", number=int(number))
        messages.error(request, _("No ticket #%(number)s.") % {"number": number})
    page = Paginator(reviews, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "metrics/qa_list.html", {"page": page, "export_url": export_url(request, "reviews")})


@manager_required
def qa_review(request: HttpRequest, number: int) -> HttpResponse:
    ticket = get_object_or_404(Ticket.objects.select_related("requester", "assignee"), number=number)
    scorecard_default_ensure()
    scorecards = list(Scorecard.objects.filter(is_active=True).prefetch_related("criteria"))
    if not scorecards:
        raise Http404("No active scorecard.")
    chosen = next(
        (s for s in scorecards if str(s.pk) == request.POST.get("scorecard", request.GET.get("scorecard"))),
        scorecards[0],
    )
    User = get_user_model()
    agents = list(User.objects.filter(pk__in=qa_reviewable_agents(ticket)).order_by("username"))
    replies = (
        ticket.messages.filter(direction="outbound", author_kind="agent", is_internal=False)
        .select_related("author_user")
        .order_by("created_at")
    )
    errors: list[str] = []
    if request.method == "POST":
        agent = next((a for a in agents if str(a.pk) == request.POST.get("agent")), None)
        scores = {}
        for criterion in chosen.criteria.all():
            value = _int(request.POST.get(f"c{criterion.pk}"), 1, 5)
            if value is not None:
                scores[criterion.pk] = value
        if agent is None:
            errors.append(_("Choose the agent whose replies you reviewed."))
        else:
            try:
                review = qa_review_save(
                    ticket=ticket,
                    agent=agent,
                    scorecard=chosen,
                    scores=scores,
                    comment=request.POST.get("comment", ""),
                    actor=Actor.agent(request.user),
                )
            except ValidationError as exc:
                errors.extend(exc.messages)
            else:
                messages.success(
                    request,
                    _("Review saved: %(score).0f / 100 for %(agent)s.")
                    % {"score": review.score, "agent": agent.username},
                )
                return redirect(reverse("metrics:qa"))
    return render(
        request,
        "metrics/qa_review.html",
        {
            "ticket": ticket,
            "scorecards": scorecards,
            "scorecard": chosen,
            "agents": agents,
            "replies": replies,
            "errors": errors,
            "reviews": ticket.qa_reviews.select_related("agent", "reviewer"),
            "posted": request.POST,
        },
    )


@manager_required
def touchpoints(request: HttpRequest) -> HttpResponse:
    form, filters = filters_from_request(request.GET)
    user = request.user
    contacts = touchpoints_contacts(user=user, filters=filters)
    channel_data = touchpoints_channels(user=user, filters=filters)
    signed_up = touchpoints_since(user=user, filters=filters, attribute="signed_up_at")
    purchased = touchpoints_since(user=user, filters=filters, attribute="purchased_at")
    tags = touchpoints_top_tags(user=user, filters=filters)
    churn = touchpoints_churn(user=user, filters=filters)
    labels = dict(Channel.choices)
    for row in channel_data["by_channel"]:
        row["label"] = labels.get(row["channel"], row["channel"])
    table = request.GET.get("export")
    if table == "contacts":
        return csv_response(
            "contacts-per-customer",
            [_("Tickets"), _("Customers")],
            [(b["label"], b["customers"]) for b in contacts["buckets"]],
        )
    if table == "channels":
        return csv_response(
            "channels-used",
            [_("Channel"), _("Customers"), _("Tickets")],
            [(r["channel"], r["customers"], r["tickets"]) for r in channel_data["by_channel"]],
        )
    if table == "spread":
        return csv_response(
            "channels-per-customer",
            [_("Channels"), _("Customers")],
            [(r["channels"], r["customers"]) for r in channel_data["spread"]],
        )
    if table == "since":
        return csv_response(
            "time-since-signup-purchase",
            [_("Time"), _("After sign-up"), _("After purchase")],
            [(s["label"], s["tickets"], p["tickets"]) for s, p in zip(signed_up, purchased, strict=True)],
        )
    if table == "tags":
        return csv_response("top-tags", [_("Tag"), _("Tickets")], [(t["name"], t["tickets"]) for t in tags])
    if table == "churn":
        return csv_response(
            "churned-vs-retained",
            [_("Group"), _("Customers"), _("Contacting"), _("Contact rate %"), _("Tickets"), _("Tickets per customer")],
            [
                (r["key"], r["customers"], r["contacting"], r["contact_rate"], r["tickets"], r["tickets_per_customer"])
                for r in churn
            ],
        )
    if table:
        raise Http404("No such table.")
    return render(
        request,
        "metrics/touchpoints.html",
        {
            "form": form,
            "filters": filters,
            "contacts": contacts,
            "channels": channel_data,
            "since": list(zip(signed_up, purchased, strict=True)),
            "tags": tags,
            "churn": churn,
            "definitions": TOUCHPOINT_DEFINITIONS,
            "exports": {
                t: export_url(request, t) for t in ("contacts", "channels", "spread", "since", "tags", "churn")
            },
        },
    )


def _float(value: str | None, default: float, low: float, high: float) -> float:
    try:
        number = float(value or default)
    except ValueError:
        return default
    return min(max(number, low), high)


@manager_required
def forecast(request: HttpRequest) -> HttpResponse:
    aht = _float(request.GET.get("aht"), 10, 1, 240)
    target = _float(request.GET.get("sl"), 80, 1, 99.9)
    within = _float(request.GET.get("within"), 30, 1, 1440)
    weeks = int(_float(request.GET.get("weeks"), 8, 1, 52))
    result = volume_forecast(days=14, weeks=weeks, aht_minutes=aht, target_sl=target / 100, target_minutes=within)
    if request.GET.get("export") == "hours":
        return csv_response(
            "forecast-hourly",
            [_("Hour starting"), _("Expected tickets"), _("Agents needed")],
            [(h.start.isoformat(), round(h.expected, 2), h.agents) for h in result["hours"]],
        )
    if request.GET.get("export") == "days":
        return csv_response(
            "forecast-daily",
            [_("Day"), _("Expected tickets"), _("Peak agents")],
            [(d["day"], round(d["expected"], 1), d["peak_agents"]) for d in result["daily"]],
        )
    if request.GET.get("export"):
        raise Http404("No such table.")
    points = [{"day": d["day"], "expected": round(d["expected"], 1)} for d in result["daily"]]
    by_day = []
    for i, d in enumerate(result["daily"]):
        by_day.append({**d, "hours": result["hours"][i * 24 : (i + 1) * 24]})
    return render(
        request,
        "metrics/forecast.html",
        {
            "result": result,
            "days": by_day,
            "chart": charts.line_chart(points, keys=["expected"]),
            "params": {"aht": aht, "sl": target, "within": within, "weeks": weeks},
            "exports": {t: export_url(request, t) for t in ("hours", "days")},
        },
    )
