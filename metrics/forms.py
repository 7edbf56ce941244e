"""The dashboard's filter form."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.models import Channel, Team, TicketPriority

from .selectors import KpiFilters

DEFAULT_DAYS = 30
MAX_DAYS = 366


class DashboardFilterForm(forms.Form):
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.all(), required=False, empty_label=_("All"))
    agent = forms.ModelChoiceField(
        label=_("Agent"),
        queryset=get_user_model().objects.filter(agent_profile__isnull=False).order_by("username"),
        required=False,
        empty_label=_("All"),
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=[("", _("All")), *Channel.choices], required=False)
    priority = forms.ChoiceField(label=_("Priority"), choices=[("", _("All")), *TicketPriority.choices], required=False)
    tag = forms.CharField(label=_("Tag"), required=False, max_length=64)

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        date_to = data.get("date_to") or today
        date_from = data.get("date_from") or date_to - dt.timedelta(days=DEFAULT_DAYS - 1)
        if date_from > date_to:
            raise forms.ValidationError(_("The start date is after the end date."))
        if (date_to - date_from).days >= MAX_DAYS:
            raise forms.ValidationError(_("Choose at most a year."))
        data["date_from"], data["date_to"] = date_from, date_to
        return data

    def to_filters(self) -> KpiFilters:
        data = self.cleaned_data
        return KpiFilters(
            date_from=data["date_from"],
            date_to=data["date_to"],
            team_id=data["team"].pk if data.get("team") else None,
            agent_id=data["agent"].pk if data.get("agent") else None,
            channel=data.get("channel") or "",
            priority=data.get("priority") or "",
            tag=(data.get("tag") or "").strip().lower(),
        )


def default_filters() -> KpiFilters:
    today = timezone.localdate()
    return KpiFilters(date_from=today - dt.timedelta(days=DEFAULT_DAYS - 1), date_to=today)


def filters_query(filters: KpiFilters) -> list[tuple[str, str]]:
    """The GET parameters that rebuild `filters` (for drill-down and export links)."""
    params = [("date_from", filters.date_from.isoformat()), ("date_to", filters.date_to.isoformat())]
    for key, value in (
        ("team", filters.team_id),
        ("agent", filters.agent_id),
        ("channel", filters.channel),
        ("priority", filters.priority),
        ("tag", filters.tag),
    ):
        if value:
            params.append((key, str(value)))
    return params


def filters_from_request(data) -> tuple[DashboardFilterForm, KpiFilters]:
    """(form to show, filters to use): the defaults when nothing or something invalid is given."""
    form = DashboardFilterForm(data or None)
    if form.is_bound and form.is_valid():
        return form, form.to_filters()
    filters = default_filters()
    if not form.is_bound:
        form = DashboardFilterForm(initial={"date_from": filters.date_from, "date_to": filters.date_to})
    return form, filters
