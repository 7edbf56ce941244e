"""Forms of the agent workspace: they parse and validate input; the services do the work.

The ticket list's filters are not here: they are the API's TicketFilterSet (tickets.api.filters),
so the browser and the API filter the same way.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Channel, Macro, Team, TicketLinkKind, TicketPriority, TicketStatus, TicketType
from .selectors import TICKET_QUEUES, agent_assignable_list

# sort key -> label; "-" means newest / highest first.
TICKET_SORTS = {
    "-updated": _("Last updated, newest first"),
    "updated": _("Last updated, oldest first"),
    "-created": _("Created, newest first"),
    "created": _("Created, oldest first"),
    "-priority": _("Priority, highest first"),
    "priority": _("Priority, lowest first"),
    "-number": _("Number, highest first"),
    "number": _("Number, lowest first"),
    "due": _("SLA deadline, soonest first"),
    "-due": _("SLA deadline, latest first"),
}

# Statuses an agent can set from the workspace (new is where tickets start; closing is done by
# the system after solving, or by merging).
SETTABLE_STATUSES = [TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.ON_HOLD, TicketStatus.SOLVED]


def _status_choices() -> list[tuple[str, str]]:
    return [(s.value, s.label) for s in SETTABLE_STATUSES]


class TicketListForm(forms.Form):
    """What the list shows besides the filters: which view, the search words, the order, the page."""

    queue = forms.ChoiceField(choices=[(q, q) for q in TICKET_QUEUES], required=False)
    view = forms.IntegerField(required=False, min_value=1)
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    sort = forms.ChoiceField(label=_("Sort"), choices=list(TICKET_SORTS.items()), required=False)
    after = forms.CharField(required=False, max_length=500)
    before = forms.CharField(required=False, max_length=500)

    def value(self, name: str, default: str = "") -> str:
        """The cleaned value, or `default` when it is missing or invalid (others still count)."""
        self.is_valid()
        return self.cleaned_data.get(name) or default


class TicketNumbersField(forms.Field):
    """Several ticket numbers (checkboxes named alike). Which of them the user may touch is
    decided by the selector, not here."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "required": _("Select at least one ticket first."),
        "invalid": _("%(value)s is not a ticket number."),
    }

    def to_python(self, value: Any) -> list[int]:
        numbers = set()
        for item in value or []:
            if not str(item).isdigit():
                raise forms.ValidationError(self.error_messages["invalid"], params={"value": item}, code="invalid")
            numbers.add(int(item))
        return sorted(numbers)


class BulkActionForm(forms.Form):
    ASSIGN, STATUS, PRIORITY, TAG = "assign", "status", "priority", "tag"

    action = forms.ChoiceField(
        choices=[(ASSIGN, _("Assign")), (STATUS, _("Set status")), (PRIORITY, _("Set priority")), (TAG, _("Add tag"))]
    )
    tickets = TicketNumbersField()
    assignee = forms.CharField(required=False, max_length=20)  # an agent's id, "me" or "none"
    status = forms.ChoiceField(choices=[], required=False)
    priority = forms.ChoiceField(choices=[("", "")] + list(TicketPriority.choices), required=False)
    tag = forms.CharField(required=False, max_length=64)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", "")] + _status_choices()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        required = {
            self.ASSIGN: ("assignee", _("Choose whom to assign the tickets to.")),
            self.STATUS: ("status", _("Choose a status.")),
            self.PRIORITY: ("priority", _("Choose a priority.")),
            self.TAG: ("tag", _("Type the tag to add.")),
        }
        if data.get("action") in required:
            field, message = required[data["action"]]
            if not (data.get(field) or "").strip():
                raise forms.ValidationError(message)
        return data


class ReplyForm(forms.Form):
    """The composer: a public reply or an internal note, optionally with a status and a macro."""

    PUBLIC, INTERNAL = "public", "internal"
    SEND, USE_MACRO = "send", "use_macro"

    body = forms.CharField(label=_("Message"), required=False, widget=forms.Textarea(attrs={"rows": 7}))
    kind = forms.ChoiceField(
        choices=[(PUBLIC, _("Public reply")), (INTERNAL, _("Internal note"))], initial=PUBLIC, widget=forms.RadioSelect
    )
    channel = forms.ChoiceField(label=_("Send via"), choices=[], required=False)
    status = forms.ChoiceField(label=_("Then set status to"), required=False)
    macro = forms.ModelChoiceField(label=_("Macro"), queryset=Macro.objects.none(), required=False)
    applied_macro = forms.ModelChoiceField(queryset=Macro.objects.none(), required=False, widget=forms.HiddenInput)
    intent = forms.ChoiceField(choices=[(SEND, SEND), (USE_MACRO, USE_MACRO)], required=False)

    def __init__(self, *args: Any, channels: list[str], macros: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(Channel.choices)
        self.fields["channel"].choices = [(c, labels.get(c, c)) for c in channels]
        self.fields["channel"].initial = channels[0] if channels else ""
        self.fields["status"].choices = [("", _("no change"))] + _status_choices()
        self.fields["macro"].queryset = macros
        self.fields["applied_macro"].queryset = macros

    @property
    def is_internal(self) -> bool:
        return self.cleaned_data.get("kind") == self.INTERNAL

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        intent = data.get("intent") or self.SEND
        data["intent"] = intent
        if intent == self.USE_MACRO and not data.get("macro") and "macro" not in self.errors:
            raise forms.ValidationError(_("Choose a macro to use."))
        if intent == self.SEND and not (data.get("body") or "").strip():
            if not (data.get("applied_macro") or data.get("status")):
                raise forms.ValidationError(_("Write a message first."))
        return data


class TicketFieldsForm(forms.Form):
    """The sidebar's editable fields."""

    priority = forms.ChoiceField(label=_("Priority"), choices=TicketPriority.choices)
    type = forms.ChoiceField(label=_("Type"), choices=TicketType.choices)
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.order_by("name"), required=False, empty_label="—"
    )
    assignee = forms.ModelChoiceField(
        label=_("Assignee"), queryset=agent_assignable_list(), required=False, empty_label="—"
    )
    tags = forms.CharField(label=_("Tags"), required=False, max_length=1000, help_text=_("Separate tags with commas."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].label_from_instance = lambda user: user.get_full_name() or user.get_username()

    def cleaned_tags(self) -> list[str]:
        return [name.strip() for name in self.cleaned_data.get("tags", "").split(",") if name.strip()]


class MergeForm(forms.Form):
    target = forms.IntegerField(label=_("Merge into ticket number"), min_value=1)


class SavedViewForm(forms.Form):
    """Save the list's current filters under a name, personal or shared with a team."""

    name = forms.CharField(label=_("View name"), max_length=100)
    team = forms.ModelChoiceField(
        label=_("Share with team"), queryset=Team.objects.none(), required=False, empty_label=_("Only me")
    )
    query = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)
    replace_filters = forms.BooleanField(label=_("Use the filters shown now"), required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        profile = getattr(user, "agent_profile", None)
        if user.is_superuser:
            self.fields["team"].queryset = Team.objects.order_by("name")
        elif profile is not None:
            self.fields["team"].queryset = profile.teams.order_by("name")


class LinkForm(forms.Form):
    kind = forms.ChoiceField(label=_("Relation"), choices=TicketLinkKind.choices)
    target = forms.IntegerField(label=_("Ticket number"), min_value=1)


class CustomerSearchForm(forms.Form):
    q = forms.CharField(label=_("Search customers"), required=False, max_length=200)


class CustomerEditForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    organization = forms.ModelChoiceField(label=_("Organization"), queryset=None, required=False, empty_label="—")
    language = forms.ChoiceField(label=_("Language"), choices=[])
    preferred_channel = forms.ChoiceField(label=_("Preferred channel"), required=False, choices=[])
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from django.conf import settings

        from .models import Organization

        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = Organization.objects.order_by("name")
        self.fields["language"].choices = settings.LANGUAGES
        self.fields["preferred_channel"].choices = [("", "—"), *Channel.choices]
