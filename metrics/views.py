"""The manager dashboard pages and the public survey answer pages. Thin: parse, call, render."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tickets.customer_messages import customer_language
from tickets.models import Channel

from . import charts
from .exports import csv_response
from .forms import filters_from_request, filters_query
from .models import SURVEY_SCALES
from .page_cache import dashboard_cached
from .pdf import kpi_table_pdf, pdf_response
from .rollups import rollup_refreshed_at
from .selectors import (
    KPI_DEFINITIONS,
    KpiFilters,
    kpi_agents,
    kpi_daily_trend,
    kpi_goals,
    kpi_summary,
    kpi_volume_by_channel,
    kpi_volume_by_weekday_hour,
)
from .services import survey_answer, survey_from_token


def can_view_dashboard(user) -> bool:
    return user.is_active and (user.is_superuser or user.has_perm("tickets.view_all_tickets"))


def manager_required(view):
    @login_required
    def wrapped(request, *args, **kwargs):
        if not can_view_dashboard(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


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
        if filters.tag:
            params.append(("tag", filters.tag))
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


def drill_url(filters: KpiFilters, kpi: str, **extra) -> str:
    """The drill-down page listing the tickets behind a number."""
    params = [("kpi", kpi), *filters_query(filters)]
    for key, value in extra.items():
        if value in (None, ""):
            continue
        params = [(k, v) for k, v in params if k != key] + [(key, str(value))]
    return f"{reverse('metrics:tickets')}?{urlencode(params)}"


def export_url(request: HttpRequest, table: str) -> str:
    params = [(k, v) for k, v in request.GET.items() if k != "export"] + [("export", table)]
    return f"{request.path}?{urlencode(params)}"


def _h(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _dashboard_csv(table: str, *, summary, volume, trend, heat, agents, definitions) -> HttpResponse:
    if table == "summary":
        rows = [
            ("created", summary.created),
            ("solved", summary.solved),
            ("first_response_median_hours", _h(summary.frt.median_hours)),
            ("first_response_average_hours", _h(summary.frt.average_hours)),
            ("first_response_business_average_hours", _h(summary.frt.business_average_hours)),
            ("next_response_average_hours", _h(summary.nrt.average_hours)),
            ("resolution_median_hours", _h(summary.resolution.median_hours)),
            ("resolution_average_hours", _h(summary.resolution.average_hours)),
            ("resolution_business_average_hours", _h(summary.resolution.business_average_hours)),
            ("reopen_rate_percent", _h(summary.reopen_rate)),
            ("first_contact_resolution_percent", _h(summary.fcr)),
            ("sla_attainment_percent", _h(summary.sla)),
            ("csat_percent", _h(summary.csat)),
            ("ces_0_100", _h(summary.ces)),
            ("nps", _h(summary.nps)),
            ("backlog", summary.backlog_total),
        ]
        return csv_response("kpi-summary", [_("KPI"), _("Value")], rows)
    if table == "channels":
        return csv_response(
            "volume-by-channel", [_("Channel"), _("Tickets")], [(r["channel"], r["count"]) for r in volume]
        )
    if table == "trend":
        return csv_response(
            "daily-trend", [_("Day"), _("Created"), _("Solved")], [(p["day"], p["created"], p["solved"]) for p in trend]
        )
    if table == "hours":
        return csv_response(
            "volume-by-weekday-hour",
            [_("Weekday"), _("Hour"), _("Tickets")],
            [(wd, h, heat.get((wd, h), 0)) for wd in range(1, 8) for h in range(24)],
        )
    if table == "weekday":
        return csv_response(
            "volume-by-weekday",
            [_("Weekday"), _("Tickets")],
            [(charts.weekday_label(wd), sum(heat.get((wd, h), 0) for h in range(24))) for wd in range(1, 8)],
        )
    if table == "backlog":
        return csv_response(
            "backlog-by-age", [_("Age"), _("Tickets")], [(b["label"], b["count"]) for b in summary.backlog]
        )
    if table == "agents":
        header = [_("Agent"), _("Solved"), _("First response (h)"), _("Next response (h)"), _("Resolution (h)")]
        header += [_("FCR %"), _("CSAT %"), _("CSAT answers"), _("QA score"), _("QA reviews")]
        rows = [
            (
                a["agent"],
                a["solved"],
                _h(a["frt_hours"]),
                _h(a["nrt_hours"]),
                _h(a["resolution_hours"]),
                _h(a["fcr"]),
                _h(a["csat"]),
                a["csat_answered"],
                _h(a["qa"]),
                a["qa_reviews"],
            )
            for a in agents
        ]
        return csv_response("agent-performance", header, rows)
    if table == "definitions":
        return csv_response(
            "kpi-definitions", [_("KPI"), _("Definition")], [(k, str(v)) for k, v in definitions.items()]
        )
    raise Http404("No such table.")


def _filters_text(form, filters: KpiFilters) -> str:
    """The non-date filters in words, for the PDF heading."""
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    parts = []
    for key, label in (("team", _("Team")), ("agent", _("Agent")), ("channel", _("Channel"))):
        value = data.get(key)
        if value:
            parts.append(f"{label}: {dict(Channel.choices).get(value, value) if key == 'channel' else value}")
    if filters.priority:
        parts.append(f"{_('Priority')}: {filters.priority}")
    if filters.tag:
        parts.append(f"{_('Tag')}: {filters.tag}")
    return " · ".join(parts)


@manager_required
def dashboard(request: HttpRequest) -> HttpResponse:
    form, filters = filters_from_request(request.GET)
    cache: dict = {}
    user = request.user

    def compute() -> tuple:
        return (
            kpi_summary(user=user, filters=filters, cache=cache),
            kpi_volume_by_channel(user=user, filters=filters, cache=cache),
            kpi_daily_trend(user=user, filters=filters, cache=cache),
            kpi_volume_by_weekday_hour(user=user, filters=filters, cache=cache),
            kpi_agents(user=user, filters=filters, cache=cache),
        )

    # A fresh copy either way (the cache pickles), so adding links below changes nothing cached.
    summary, volume, trend, heat, agents = dashboard_cached(
        user=user, key_parts=("dashboard", filters), compute=compute, page_cache=cache
    )
    if request.GET.get("export") == "pdf":
        content = kpi_table_pdf(
            summary=summary,
            goals=kpi_goals(summary=summary, filters=filters),
            filters=filters,
            filters_text=_filters_text(form, filters),
        )
        return pdf_response(content, f"kpi-summary-{filters.date_from}-{filters.date_to}")
    if request.GET.get("export"):
        return _dashboard_csv(
            request.GET["export"],
            summary=summary,
            volume=volume,
            trend=trend,
            heat=heat,
            agents=agents,
            definitions=KPI_DEFINITIONS,
        )

    channel_labels = dict(Channel.choices)
    for row in volume:
        row["label"] = channel_labels.get(row["channel"], row["channel"])
        row["url"] = ticket_list_url(filters, channel=row["channel"])
    day_base = ticket_list_url(filters, dates=False)  # then each day's dates (a year is 365 links)
    zone = timezone.get_current_timezone()
    for point in trend:
        start = dt.datetime.combine(point["day"], dt.time.min, tzinfo=zone)
        end = dt.datetime.combine(point["day"], dt.time.max, tzinfo=zone)
        dates = urlencode([("created_after", start.isoformat()), ("created_before", end.isoformat())])
        point["url"] = f"{day_base}&{dates}"
    for bucket in summary.backlog:
        bucket["url"] = ticket_list_url(
            filters,
            dates=False,
            status=["unsolved"],
            created_after=bucket["created_after"],
            created_before=bucket["created_before"],
        )
    for agent in agents:
        agent["url"] = drill_url(filters, "solved", agent=agent["agent_id"])
    heat_chart = charts.heat_map(heat)
    cell_base = drill_url(filters, "created")  # then each cell's weekday and hour
    for cell in heat_chart["cells"]:
        cell["url"] = f"{cell_base}&{urlencode([('weekday', cell['weekday']), ('hour', cell['hour'])])}"
    heat_chart["cells_html"] = charts.heat_cells_html(heat_chart)
    weekday_rows = [
        {
            "label": charts.weekday_label(wd),
            "count": sum(heat.get((wd, h), 0) for h in range(24)),
            "url": drill_url(filters, "created", weekday=wd),
        }
        for wd in range(1, 8)
    ]
    goals = kpi_goals(summary=summary, filters=filters)
    drill = {
        k: drill_url(filters, k)
        for k in (
            "created",
            "responded",
            "nrt",
            "resolved",
            "solved",
            "reopened",
            "one_touch",
            "sla_missed",
            "sla_met",
            "csat",
            "ces",
            "nps",
        )
    }
    return render(
        request,
        "metrics/dashboard.html",
        {
            "form": form,
            "filters": filters,
            "summary": summary,
            "refreshed_at": rollup_refreshed_at(cache),
            "goals": goals,
            "definitions": KPI_DEFINITIONS,
            "volume_chart": charts.bar_chart(volume, label_key="label", value_key="count"),
            "weekday_chart": charts.bar_chart(weekday_rows, label_key="label", value_key="count"),
            "trend_chart": charts.line_chart(trend, keys=["created", "solved"]),
            "heat_chart": heat_chart,
            "agents": agents,
            "drill": drill,
            "exports": {
                t: export_url(request, t)
                for t in ("summary", "channels", "trend", "weekday", "hours", "backlog", "agents", "definitions", "pdf")
            },
            "urls": {
                "created": ticket_list_url(filters),
                "solved": ticket_list_url(filters, status=["solved", "closed"]),
                "backlog": ticket_list_url(filters, dates=False, status=["unsolved"]),
            },
        },
    )


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
