"""The weekly KPI report emailed to managers and admins (beat task `metrics.weekly_report_send`).

The figures are the dashboard's (`selectors.kpi_summary` and `kpi_goals` for the whole desk,
Monday to Sunday in TIME_ZONE), with the week before for comparison. One `WeeklyReportSent`
row per (address, week) is made before sending and locked while sending, so running the task
twice sends once; a failed send keeps its error and is retried.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.template.defaultfilters import floatformat
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tickets.models import AgentRole

from .models import LOWER_IS_BETTER, WeeklyReportSent, WeeklyReportStatus
from .selectors import KpiFilters, KpiSummary, kpi_goals, kpi_summary

logger = logging.getLogger(__name__)


class WholeDesk:
    """The viewer of a report about every ticket: what a manager (view-all permission) sees."""

    is_authenticated = True
    is_active = True
    is_superuser = True
    pk = None

    def has_perm(self, perm: str) -> bool:
        return True


# (key, label, unit, how to read it from a summary, goal key or "").
KPI_ROWS: list[tuple[str, object, str, object, str]] = [
    ("created", gettext_lazy("Tickets created"), "", lambda s: s.created, ""),
    ("solved", gettext_lazy("Tickets solved"), "", lambda s: s.solved, ""),
    ("frt_median", gettext_lazy("First response time (median)"), "h", lambda s: s.frt.median_hours, ""),
    ("frt", gettext_lazy("First response time (average)"), "h", lambda s: s.frt.average_hours, "frt"),
    ("nrt", gettext_lazy("Next response time (average)"), "h", lambda s: s.nrt.average_hours, "nrt"),
    (
        "resolution_median",
        gettext_lazy("Resolution time (median)"),
        "h",
        lambda s: s.resolution.median_hours,
        "",
    ),
    ("resolution", gettext_lazy("Resolution time (average)"), "h", lambda s: s.resolution.average_hours, "resolution"),
    (
        "resolution_business",
        gettext_lazy("Resolution time in business hours (average)"),
        "h",
        lambda s: s.resolution.business_average_hours,
        "resolution_business",
    ),
    ("reopen", gettext_lazy("Reopen rate"), "%", lambda s: s.reopen_rate, "reopen"),
    ("fcr", gettext_lazy("First-contact resolution"), "%", lambda s: s.fcr, "fcr"),
    ("sla", gettext_lazy("SLA attainment"), "%", lambda s: s.sla, "sla"),
    ("csat", gettext_lazy("CSAT"), "%", lambda s: s.csat, "csat"),
    ("ces", gettext_lazy("CES (0-100, lower is better)"), "", lambda s: s.ces, "ces"),
    ("nps", gettext_lazy("NPS"), "", lambda s: s.nps, "nps"),
    ("backlog", gettext_lazy("Backlog now"), "", lambda s: s.backlog_total, "backlog"),
]

GOAL_LABELS = {
    "met": gettext_lazy("Goal met"),
    "at_risk": gettext_lazy("Goal at risk"),
    "missed": gettext_lazy("Goal missed"),
    "no_data": gettext_lazy("Goal: no data"),
}


def fmt(value: float | int | None) -> str:
    """A figure as the dashboard prints it (one decimal, localized); a dash when unknown."""
    if value is None:
        return "—"
    if isinstance(value, int):
        return str(value)
    return str(floatformat(value, 1))


@dataclass
class KpiRow:
    key: str
    label: object
    unit: str
    value: float | int | None
    previous: float | int | None = None
    goal_target: float | None = None
    goal_status: str = ""

    @property
    def change(self) -> float | int | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def trend(self) -> str:
        """better, worse or same against the previous week ("" when it cannot be said)."""
        change = self.change
        if change is None or self.key in ("created", "solved"):
            return ""
        if change == 0:
            return "same"
        lower = self.key.removesuffix("_median") in LOWER_IS_BETTER
        return "better" if (change < 0) == lower else "worse"


def kpi_rows(*, summary: KpiSummary, previous: KpiSummary | None, goals: dict[str, dict]) -> list[KpiRow]:
    """The KPI table of the report and the PDF export: one row per headline figure."""
    rows = []
    for key, label, unit, read, goal_key in KPI_ROWS:
        row = KpiRow(key=key, label=label, unit=unit, value=read(summary))
        if previous is not None and key != "backlog":  # the backlog is "now" only
            row.previous = read(previous)
        goal = goals.get(goal_key) if goal_key else None
        if goal:
            row.goal_target, row.goal_status = goal["goal"].target, goal["status"]
        rows.append(row)
    return rows


def report_week(today: dt.date | None = None) -> dt.date:
    """Monday of the last complete week (Monday to Sunday) before `today` (local date)."""
    today = today or timezone.localdate()
    return today - dt.timedelta(days=today.weekday() + 7)


def week_filters(week_start: dt.date) -> KpiFilters:
    return KpiFilters(date_from=week_start, date_to=week_start + dt.timedelta(days=6))


def dashboard_week_url(week_start: dt.date) -> str:
    f = week_filters(week_start)
    query = urlencode({"date_from": f.date_from.isoformat(), "date_to": f.date_to.isoformat()})
    return f"{settings.SITE_URL}{reverse('metrics:dashboard')}?{query}"


@dataclass
class WeeklyReport:
    week_start: dt.date
    week_end: dt.date
    summary: KpiSummary
    previous: KpiSummary
    rows: list[KpiRow] = field(default_factory=list)
    url: str = ""


def weekly_report_build(*, week_start: dt.date, now: dt.datetime | None = None) -> WeeklyReport:
    """The figures of the week starting `week_start` and of the week before, as on the dashboard."""
    viewer = WholeDesk()
    filters = week_filters(week_start)
    summary = kpi_summary(user=viewer, filters=filters, now=now)
    previous = kpi_summary(user=viewer, filters=week_filters(week_start - dt.timedelta(days=7)), now=now)
    goals = kpi_goals(summary=summary, filters=filters)
    return WeeklyReport(
        week_start=filters.date_from,
        week_end=filters.date_to,
        summary=summary,
        previous=previous,
        rows=kpi_rows(summary=summary, previous=previous, goals=goals),
        url=dashboard_week_url(week_start),
    )


def weekly_report_recipients() -> list[tuple[str, object | None, str]]:
    """(address, user or None, language) for every active manager and admin with an address
    (superusers included), then METRICS_WEEKLY_REPORT_RECIPIENTS; each address once."""
    users = (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(agent_profile__role__in=[AgentRole.MANAGER, AgentRole.ADMIN]) | Q(is_superuser=True))
        .exclude(email="")
        .select_related("agent_profile")
        .order_by("pk")
    )
    out: dict[str, tuple[str, object | None, str]] = {}
    for user in users:
        profile = getattr(user, "agent_profile", None)
        language = profile.language if profile else settings.LANGUAGE_CODE
        out.setdefault(user.email.strip().lower(), (user.email.strip(), user, language))
    for address in getattr(settings, "METRICS_WEEKLY_REPORT_RECIPIENTS", []):
        address = address.strip()
        if address:
            out.setdefault(address.lower(), (address, None, settings.LANGUAGE_CODE))
    return list(out.values())


def weekly_report_message(*, report: WeeklyReport, to: str, language: str) -> EmailMultiAlternatives:
    with translation.override(language or settings.LANGUAGE_CODE):
        rows = [
            {
                "label": str(r.label),
                "value": fmt(r.value),
                "previous": fmt(r.previous) if r.key != "backlog" else "",
                "change": "" if r.change is None else ("+" if r.change > 0 else "") + fmt(r.change),
                "trend": r.trend,
                "unit": r.unit,
                "goal": (f"{GOAL_LABELS[r.goal_status]} · {fmt(r.goal_target)}" if r.goal_status else ""),
                "goal_status": r.goal_status,
            }
            for r in report.rows
        ]
        context = {"report": report, "rows": rows, "url": report.url}
        subject = _("Weekly support report: %(start)s – %(end)s") % {
            "start": report.week_start.isoformat(),
            "end": report.week_end.isoformat(),
        }
        text = render_to_string("metrics/email/weekly_report.txt", context)
        html = render_to_string("metrics/email/weekly_report.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [to])
    message.attach_alternative(html, "text/html")
    return message


def weekly_reports_send(*, week_start: dt.date | None = None, now: dt.datetime | None = None) -> dict[str, int]:
    """Send the report of `week_start` (default: last week) to every recipient who has not had
    it. Returns {"sent": n, "failed": n, "skipped": n}."""
    counts = {"sent": 0, "failed": 0, "skipped": 0}
    if not settings.METRICS_WEEKLY_REPORT:
        return counts
    now = now or timezone.now()
    week_start = week_start or report_week(timezone.localdate(now))
    if week_start.weekday() != 0:
        raise ValueError(f"A report week starts on a Monday; {week_start.isoformat()} is not one.")
    recipients = weekly_report_recipients()
    for address, user, language in recipients:
        WeeklyReportSent.objects.get_or_create(
            email=address.lower(), week_start=week_start, defaults={"user": user, "language": language}
        )
    due = list(
        WeeklyReportSent.objects.filter(
            week_start=week_start,
            email__in=[a.lower() for a, _u, _l in recipients],
            status__in=[WeeklyReportStatus.PENDING, WeeklyReportStatus.FAILED],
        ).values_list("pk", flat=True)
    )
    if not due:
        return counts
    report = weekly_report_build(week_start=week_start, now=now)
    for pk in due:
        counts[_send_one(pk=pk, report=report)] += 1
    return counts


def _send_one(*, pk: int, report: WeeklyReport) -> str:
    """Send one row's report under a row lock (a concurrent run skips it)."""
    with transaction.atomic():
        row = (
            WeeklyReportSent.objects.select_for_update(skip_locked=True)
            .filter(pk=pk, status__in=[WeeklyReportStatus.PENDING, WeeklyReportStatus.FAILED])
            .first()
        )
        if row is None:
            return "skipped"  # being sent by another run, or sent already
        row.attempts += 1
        try:
            weekly_report_message(report=report, to=row.email, language=row.language).send()
        except Exception as exc:  # noqa: BLE001 - any transport error is kept on the row and retried
            logger.warning("weekly report to %s failed: %s", row.email, exc)
            row.status, row.error = WeeklyReportStatus.FAILED, str(exc)[:2000]
            row.save(update_fields=["attempts", "status", "error"])
            return "failed"
        row.status, row.error, row.sent_at = WeeklyReportStatus.SENT, "", timezone.now()
        row.save(update_fields=["attempts", "status", "error", "sent_at"])
        return "sent"
