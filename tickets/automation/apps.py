from django.apps import AppConfig
from django.db.models.signals import post_save, pre_save
from django.utils.translation import gettext_lazy as _


class AutomationConfig(AppConfig):
    name = "tickets.automation"
    label = "automation"
    verbose_name = _("Triggers and automations")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tickets.models import Event

        from .receivers import event_origin_mark, event_saved

        # Infrastructure only: an Event written by a rule's action says which rule made it, and
        # every Event a trigger may react to schedules the ticket's trigger run after commit.
        pre_save.connect(event_origin_mark, sender=Event, dispatch_uid="automation.event_origin_mark")
        post_save.connect(event_saved, sender=Event, dispatch_uid="automation.event_saved")
        # SLA warnings and breaches notify the assignee and the team lead the sweep names.
        from .receivers import sla_event_notify

        post_save.connect(sla_event_notify, sender=Event, dispatch_uid="automation.sla_event_notify")
