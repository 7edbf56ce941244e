from django.apps import AppConfig
from django.db.models.signals import post_save
from django.utils.translation import gettext_lazy as _


class RoutingConfig(AppConfig):
    name = "tickets.routing"
    label = "routing"
    verbose_name = _("Routing and assignment")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tickets.models import Event

        from .receivers import event_saved

        # Infrastructure only: a ticket's `created` Event schedules its routing after commit.
        post_save.connect(event_saved, sender=Event, dispatch_uid="routing.event_saved")
