"""The weekly KPI report email: the dashboard's figures for a hand-built week, once per address
and week, in each manager's language, managers and admins only, and on a real worker."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
from django.template.defaultfilters import floatformat

from metrics.models import Goal, WeeklyReportSent
from metrics.schedules import LocalCrontab
from metrics.selectors import KpiFilters, kpi_summary
from metrics.weekly_report import report_week, weekly_report_build, weekly_reports_send
from tests.factories import TicketFactory, make_agent

from .conftest import at

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2024, 3, 4)
SENT_AT = at(11, 7)  # Monday 11 March 2024, 07:00 UTC: the report of 4-10 March is due.


@pytest.fixture
def week(office_history):
    """office_history (4-10 March) plus one ticket the week before: first reply after 4 h,
    solved after 8 h."""
    TicketFactory(
        subject="Last week",
        channel="email",
        status="solved",
        created_at=at(28, 10, month=2),
        first_responded_at=at(28, 14, month=2),
        solved_at=at(28, 18, month=2),
    )
    Goal.objects.create(kpi="frt", target=4)  # 6.5 h average against 4 h: missed
    Goal.objects.create(kpi="sla", target=75)  # 75 %: met
    return office_history


def _set_language(user, language: str):
    user.agent_profile.language = language
    user.agent_profile.save(update_fields=["language"])
    return user


def _table_rows(html: str) -> dict[str, list[str]]:
    """{KPI label: [this week, week before, change, goal]} from the HTML part."""
    rows = {}
    for tr in re.findall(r"<tr[^>]*data-kpi-row[^>]*>(.*?)</tr>", html, re.S):
        cells = [unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
        rows[cells[0]] = cells[1:]
    return rows


def test_report_week_is_the_last_full_monday_to_sunday():
    assert report_week(dt.date(2024, 3, 11)) == MONDAY  # a Monday: the week just ended
    assert report_week(dt.date(2024, 3, 17)) == MONDAY  # the Sunday after
    assert report_week(dt.date(2024, 3, 18)) == dt.date(2024, 3, 11)
    with pytest.raises(ValueError, match="starts on a Monday"):
        weekly_reports_send(week_start=dt.date(2024, 3, 5))


def test_figures_are_the_dashboards_for_the_week_and_the_week_before(week, mailoutbox):
    manager = make_agent("mara", role="manager")
    counts = weekly_reports_send(now=SENT_AT)
    assert counts == {"sent": 1, "failed": 0, "skipped": 0}
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == [manager.email]
    assert "2024-03-04" in message.subject and "2024-03-10" in message.subject

    # The selectors the dashboard uses, for the same week and the week before.
    this = kpi_summary(user=manager, filters=KpiFilters(date_from=MONDAY, date_to=dt.date(2024, 3, 10)), now=SENT_AT)
    before = kpi_summary(
        user=manager, filters=KpiFilters(date_from=dt.date(2024, 2, 26), date_to=dt.date(2024, 3, 3)), now=SENT_AT
    )
    assert (this.created, this.frt.average_hours, this.sla) == (3, pytest.approx(6.5), 75.0)  # worked out by hand
    assert (before.created, before.frt.average_hours) == (1, pytest.approx(4.0))

    html = message.alternatives[0][0]
    assert message.alternatives[0][1] == "text/html"
    rows = _table_rows(html)
    assert rows["Tickets created"][:3] == ["3", "1", "+2"]
    assert rows["First response time (average)"] == [
        f"{floatformat(this.frt.average_hours, 1)} h",
        floatformat(before.frt.average_hours, 1),
        "+2.5",
        "Goal missed · 4.0",
    ]
    assert rows["First response time (median)"][0] == "1.0 h"
    assert rows["Resolution time (average)"][:2] == [f"{floatformat(this.resolution.average_hours, 1)} h", "8.0"]
    assert rows["Reopen rate"][0] == f"{floatformat(this.reopen_rate, 1)} %"
    assert rows["SLA attainment"] == ["75.0 %", "—", "", "Goal met · 75.0"]
    assert rows["Backlog now"][0] == str(this.backlog_total)
    # The plain-text part carries the same figures.
    assert "First response time (average): 6.5 h (week before: 4.0, +2.5) · Goal missed · 4.0" in message.body
    # A link to the dashboard for that week.
    assert "/dashboard/?date_from=2024-03-04&date_to=2024-03-10" in message.body
    assert "/dashboard/?date_from=2024-03-04&amp;date_to=2024-03-10" in html
    row = WeeklyReportSent.objects.get()
    assert (row.email, row.week_start, row.status, row.attempts) == (manager.email, MONDAY, "sent", 1)


def test_build_matches_the_selector_for_every_row(week, manager):
    report = weekly_report_build(week_start=MONDAY, now=SENT_AT)
    this = kpi_summary(user=manager, filters=KpiFilters(date_from=MONDAY, date_to=dt.date(2024, 3, 10)), now=SENT_AT)
    values = {r.key: r.value for r in report.rows}
    assert values["created"] == this.created
    assert values["resolution_business"] == pytest.approx(this.resolution.business_average_hours)
    assert values["fcr"] == pytest.approx(this.fcr)
    assert values["nrt"] == pytest.approx(this.nrt.average_hours)
    assert {r.key: r.goal_status for r in report.rows if r.goal_status} == {"frt": "missed", "sla": "met"}


def test_running_twice_sends_once(week, mailoutbox, settings):
    settings.METRICS_WEEKLY_REPORT_RECIPIENTS = ["Ops@Example.com"]
    make_agent("mara", role="manager")
    make_agent("adam", role="admin")
    assert weekly_reports_send(now=SENT_AT)["sent"] == 3
    assert weekly_reports_send(now=SENT_AT)["sent"] == 0
    assert sorted(m.to[0].lower() for m in mailoutbox) == [
        "adam@agents.example.com",
        "mara@agents.example.com",
        "ops@example.com",
    ]
    assert WeeklyReportSent.objects.filter(week_start=MONDAY, status="sent").count() == 3
    # The next week is a new report.
    assert weekly_reports_send(now=SENT_AT + dt.timedelta(days=7))["sent"] == 3


def test_a_failed_send_is_kept_and_retried(week, mailoutbox, monkeypatch):
    make_agent("mara", role="manager")
    from django.core.mail import EmailMultiAlternatives

    real_send = EmailMultiAlternatives.send

    def refuse(self, fail_silently=False):
        raise OSError("connection refused")

    monkeypatch.setattr(EmailMultiAlternatives, "send", refuse)
    assert weekly_reports_send(now=SENT_AT) == {"sent": 0, "failed": 1, "skipped": 0}
    row = WeeklyReportSent.objects.get()
    assert (row.status, row.attempts, row.error) == ("failed", 1, "connection refused")
    monkeypatch.setattr(EmailMultiAlternatives, "send", real_send)
    assert weekly_reports_send(now=SENT_AT)["sent"] == 1
    row.refresh_from_db()
    assert (row.status, row.attempts, row.error) == ("sent", 2, "")
    assert len(mailoutbox) == 1


def test_each_manager_gets_it_in_their_language(week, mailoutbox):
    _set_language(make_agent("pedro", role="manager"), "pt-br")
    _set_language(make_agent("olga", role="admin"), "ru")
    make_agent("ed", role="manager")
    weekly_reports_send(now=SENT_AT)
    by_to = {m.to[0].split("@")[0]: m for m in mailoutbox}
    assert set(by_to) == {"pedro", "olga", "ed"}
    pt = _table_rows(by_to["pedro"].alternatives[0][0])
    assert pt["Tickets criados"][0] == "3"
    assert pt["Cumprimento de SLA"][0] == "75,0 %"  # Brazilian decimal comma
    assert "Meta não cumprida · 4,0" in by_to["pedro"].body
    ru = _table_rows(by_to["olga"].alternatives[0][0])
    assert ru["Создано обращений"][0] == "3"
    assert "Цель не достигнута" in by_to["olga"].body
    en = _table_rows(by_to["ed"].alternatives[0][0])
    assert en["SLA attainment"][0] == "75.0 %"


def test_agents_inactive_and_addressless_managers_get_nothing(week, mailoutbox, django_user_model):
    make_agent("plain", role="agent")
    make_agent("light", role="light_agent")
    gone = make_agent("gone", role="manager")
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    silent = make_agent("silent", role="manager")
    silent.email = ""
    silent.save(update_fields=["email"])
    django_user_model.objects.create_user("customerish", email="c@example.com", password="pw-for-tests-1")
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw-for-tests-1")
    weekly_reports_send(now=SENT_AT)
    assert [m.to for m in mailoutbox] == [[root.email]]


def test_switched_off_sends_nothing(week, mailoutbox, settings):
    settings.METRICS_WEEKLY_REPORT = False
    make_agent("mara", role="manager")
    assert weekly_reports_send(now=SENT_AT)["sent"] == 0
    assert mailoutbox == [] and not WeeklyReportSent.objects.exists()


def test_beat_entry_is_monday_seven_in_the_time_zone(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["metrics-weekly-report"]
    assert entry["task"] == "metrics.weekly_report_send"
    schedule = entry["schedule"]
    assert isinstance(schedule, LocalCrontab)
    assert (schedule.hour, schedule.minute, schedule.day_of_week) == ({7}, {0}, {1})
    settings.TIME_ZONE = "America/Sao_Paulo"
    # Last ran Monday 4 March 07:00 São Paulo (10:00 UTC): next is Monday 11 March 07:00 there.
    last = dt.datetime(2024, 3, 4, 10, 0, tzinfo=dt.UTC)
    start, delta, _now = schedule.remaining_delta(last)
    assert (start + delta).astimezone(dt.UTC) == dt.datetime(2024, 3, 11, 10, 0, tzinfo=dt.UTC)
    import pickle

    assert isinstance(pickle.loads(pickle.dumps(schedule)), LocalCrontab)


@pytest.mark.django_db(transaction=True)
def test_task_on_a_real_worker_sends_once(celery_worker, week, mailoutbox):
    from metrics.tasks import weekly_report_send_task

    manager = make_agent("mara", role="manager")
    first = weekly_report_send_task.delay("2024-03-04").get(timeout=60)
    second = weekly_report_send_task.delay("2024-03-04").get(timeout=60)
    assert first == {"sent": 1, "failed": 0, "skipped": 0}
    assert second == {"sent": 0, "failed": 0, "skipped": 0}
    assert [m.to for m in mailoutbox] == [[manager.email]]  # the worker thread shares this process
    assert "Tickets created: 3" in mailoutbox[0].body
    assert WeeklyReportSent.objects.get().status == "sent"
