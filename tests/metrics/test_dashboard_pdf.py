"""/dashboard/?export=pdf: the KPI table as a PDF with the dashboard's figures, managers only."""

from __future__ import annotations

import datetime as dt
import io
import os

import pytest
from django.utils import translation
from pypdf import PdfReader

from metrics.models import Goal
from metrics.pdf import FONT_CANDIDATES, kpi_table_pdf
from metrics.selectors import KpiFilters, kpi_goals, kpi_summary
from tests.factories import make_agent

from .conftest import NOW

pytestmark = pytest.mark.django_db

MARCH = {"date_from": "2024-03-01", "date_to": "2024-03-09"}


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    return " ".join(text.split())  # one cell after another, separated by a space


def test_manager_downloads_the_kpi_table_as_pdf(client, history, manager):
    Goal.objects.create(kpi="csat", target=80)  # 66.7 % against 80: missed
    client.force_login(manager)
    page = client.get("/dashboard/", MARCH).content.decode()
    assert "export=pdf" in page  # the link is on the dashboard
    response = client.get("/dashboard/", {**MARCH, "export": "pdf"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert 'filename="kpi-summary-2024-03-01-2024-03-09.pdf"' in response["Content-Disposition"]
    text = pdf_text(response.content)
    # The numbers the dashboard tiles show for this history (test_dashboard_view.py).
    assert "Tickets created 4 Tickets solved 2" in text
    assert "First response time (median) 2.0 h" in text
    assert "Resolution time (median) 15.0 h" in text
    assert "CSAT 66.7 % Goal missed · 80.0" in text
    assert "CES (0-100, lower is better) 25.0" in text
    assert "Backlog now 4" in text
    assert "2024-03-01" in text and "2024-03-09" in text


def test_filters_reach_the_pdf(client, history, manager):
    client.force_login(manager)
    response = client.get("/dashboard/", {**MARCH, "team": history["team_a"].pk, "export": "pdf"})
    text = pdf_text(response.content)
    assert "Tickets created 2" in text and "CSAT 100.0 %" in text
    assert "Team: A" in text


def test_agents_cannot_export(client, history):
    client.force_login(make_agent("plain"))
    assert client.get("/dashboard/", {**MARCH, "export": "pdf"}).status_code == 403


@pytest.mark.skipif(
    not any(os.path.exists(regular) for regular, _bold in FONT_CANDIDATES),
    reason="no Unicode TrueType font installed (Debian: fonts-dejavu-core)",
)
def test_pdf_in_russian_keeps_cyrillic(history, manager):
    filters = KpiFilters(date_from=dt.date(2024, 3, 1), date_to=dt.date(2024, 3, 9))
    summary = kpi_summary(user=manager, filters=filters, now=NOW)
    with translation.override("ru"):
        content = kpi_table_pdf(
            summary=summary, goals=kpi_goals(summary=summary, filters=filters), filters=filters, filters_text=""
        )
    text = pdf_text(content)
    assert "Создано обращений 4" in text
    assert "CSAT 66,7 %" in text  # decimal comma
    assert "Очередь сейчас 4" in text
