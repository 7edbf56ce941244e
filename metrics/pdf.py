"""The dashboard's KPI table as a PDF (`/dashboard/?export=pdf`), drawn with ReportLab."""

from __future__ import annotations

import io
import os
from functools import cache

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .selectors import KpiFilters, KpiSummary
from .weekly_report import GOAL_LABELS, fmt, kpi_rows

# A Unicode TrueType font (Cyrillic, accents) when the system has one (Debian: fonts-dejavu-core);
# otherwise the PDF core fonts, which cover Latin-1 only.
FONT_CANDIDATES = (
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
)


@cache
def _fonts() -> tuple[str, str]:
    for regular, bold in FONT_CANDIDATES:
        if os.path.exists(regular) and os.path.exists(bold):
            pdfmetrics.registerFont(TTFont("HelpdeskSans", regular))
            pdfmetrics.registerFont(TTFont("HelpdeskSans-Bold", bold))
            return "HelpdeskSans", "HelpdeskSans-Bold"
    return "Helvetica", "Helvetica-Bold"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def kpi_table_pdf(*, summary: KpiSummary, goals: dict[str, dict], filters: KpiFilters, filters_text: str) -> bytes:
    """A one-page tabular PDF: KPI, value, goal. Same figures and rounding as the dashboard."""
    regular, bold = _fonts()
    styles = getSampleStyleSheet()
    for name in ("Title", "Normal"):
        styles[name].fontName = bold if name == "Title" else regular
    rows = kpi_rows(summary=summary, previous=None, goals=goals)
    data = [[_("KPI"), _("Value"), _("Goal")]]
    for row in rows:
        value = fmt(row.value)
        if row.unit and row.value is not None:
            value = f"{value} {row.unit}"
        goal = f"{GOAL_LABELS[row.goal_status]} · {fmt(row.goal_target)}" if row.goal_status else ""
        data.append([str(row.label), value, goal])
    table = Table(data, colWidths=[250, 90, 150], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f3f4f6")),
                ("FONTNAME", (0, 0), (-1, -1), regular),
                ("FONTNAME", (0, 0), (-1, 0), bold),
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#e5e7eb")),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
            ]
        )
    )
    buffer = io.BytesIO()
    title = _("Dashboard")
    doc = SimpleDocTemplate(buffer, pagesize=A4, title=title, author=_("Help desk"))
    period = _("Tickets created %(start)s – %(end)s") % {
        "start": filters.date_from.isoformat(),
        "end": filters.date_to.isoformat(),
    }
    story = [
        Paragraph(_escape(title), styles["Title"]),
        Paragraph(_escape(period), styles["Normal"]),
    ]
    if filters_text:
        story.append(Paragraph(_escape(filters_text), styles["Normal"]))
    generated = _("Generated %(when)s") % {"when": timezone.localtime().strftime("%Y-%m-%d %H:%M")}
    story.append(Paragraph(_escape(generated), styles["Normal"]))
    story += [Spacer(1, 12), table]
    doc.build(story)
    return buffer.getvalue()


def pdf_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}.pdf"'
    return response
