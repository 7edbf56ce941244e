"""The manager dashboard and the public survey answer pages. Thin: parse, call, render."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.http import require_http_methods

from tickets.customer_messages import customer_language
from tickets.models import Channel

from . import charts
from .forms import DashboardFilterForm, default_filters
from .models import SURVEY_SCALES
from .selectors import KPI_DEFINITIONS, KpiFilters, kpi_daily_trend, kpi_summary, kpi_volume_by_channel
from .services import survey_answer, survey_from_token


def can_view_dashboard(user) -> bool:
    return user.is_active and (user.is_superuser or user.has_perm("tickets.view_all_tickets"))


def _iso(moment: dt.datetime) -> str:
    return timezone.localtime(moment).isoformat()


def ticket_list_url(filters: KpiFilters | None, *, dates: bool = True, **extra) -> str:
    """The agent list (all queues) narrowed the way the dashboard figure is. `extra` may add
    status (a list), channel, created_after / created_before (datetimes)."""
    params: list[tuple[str, str]] = [("queue", "all")]
    if filters is not None:
        if filters.team_id:
            params.append(("team", str(filters.team_id)))
        if filters.agent_id:
            params.append(("assignee", str(filters.agent_id)))
        if filters.channel and "channel" not in extra:
            params.append(("channel", filters.channel))
        if filters.priority:
            params.append(("priority", filters.priority))
        if dates and "created_after" not in extra:
            params.append(("created_after", _iso(filters.start)))
            params.append(("created_before", _iso(filters.end - dt.timedelta(microseconds=1))))
    for status in extra.pop("status", []):
        params.append(("status", status))
    for key, value in extra.items():
        if value is None:
            continue
        params.append((key, _iso(value) if isinstance(value, dt.datetime) else str(value)))
    return f"{reverse('agent:home')}?{urlencode(params)}"


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    if not can_view_dashboard(request.user):
        raise PermissionDenied
    form = DashboardFilterForm(request.GET or None)
    filters = form.to_filters() if form.is_bound and form.is_valid() else default_filters()
    summary = kpi_summary(user=request.user, filters=filters)
    volume = kpi_volume_by_channel(user=request.user, filters=filters)
    trend = kpi_daily_trend(user=request.user, filters=filters)

    channel_labels = dict(Channel.choices)
    for row in volume:
        row["label"] = channel_labels.get(row["channel"], row["channel"])
        row["url"] = ticket_list_url(filters, channel=row["channel"])
    for point in trend:
        start = timezone.make_aware(dt.datetime.combine(point["day"], dt.time.min))
        point["url"] = ticket_list_url(
            filters, created_after=start, created_before=start + dt.timedelta(days=1, microseconds=-1)
        )
    for bucket in summary.backlog:
        bucket["url"] = ticket_list_url(
            filters,
            dates=False,
            status=["unsolved"],
            created_after=bucket["created_after"],
            created_before=bucket["created_before"],
        )
    solved_url = ticket_list_url(filters, status=["solved", "closed"])
    return render(
        request,
        "metrics/dashboard.html",
        {
            "form": form if form.is_bound else DashboardFilterForm(initial=_initial(filters)),
            "filters": filters,
            "summary": summary,
            "definitions": KPI_DEFINITIONS,
            "volume_chart": charts.bar_chart(volume, label_key="label", value_key="count"),
            "trend_chart": charts.line_chart(trend, keys=["created", "solved"]),
            "urls": {
                "created": ticket_list_url(filters),
                "solved": solved_url,
                "backlog": ticket_list_url(filters, dates=False, status=["unsolved"]),
            },
        },
    )


def _initial(filters: KpiFilters) -> dict:
    return {"date_from": filters.date_from, "date_to": filters.date_to}


@require_http_methods(["GET", "POST"])
def survey_answer_page(request: HttpRequest, token: str, score: int) -> HttpResponse:
    """GET: confirm the score clicked in the message (link scanners must not vote), with an
    optional comment. POST: record it; answering again changes the one answer."""
    survey = survey_from_token(token)
    if survey is None:
        raise Http404("No such survey.")
    low, high = SURVEY_SCALES[survey.kind]
    if not low <= score <= high:
        raise Http404("No such score.")
    with translation.override(customer_language(survey.customer)):
        if request.method == "POST":
            try:
                chosen = int(request.POST.get("score", score))
            except ValueError:
                chosen = score
            if not low <= chosen <= high:
                chosen = score
            survey = survey_answer(survey=survey, score=chosen, comment=request.POST.get("comment", ""))
            return render(request, "metrics/survey_thanks.html", {"survey": survey})
        return render(
            request,
            "metrics/survey_answer.html",
            {"survey": survey, "score": score, "scores": range(low, high + 1), "token": token},
        )
