from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = _("Tickets")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import roles

        # Infrastructure only: keep the role groups and their permissions in step with code.
        post_migrate.connect(roles.role_groups_sync_handler, sender=self)

        # SLA: editing a policy or business hours re-applies it to the unsolved tickets.
        from .sla import reapply

        reapply.connect()

        # Agent workspace: after a ticket Event commits, fresh sidebar counts and a live push.
        from django.db.models.signals import post_save

        from .models import Event
        from .services.workspace import workspace_event_saved

        post_save.connect(workspace_event_saved, sender=Event, dispatch_uid="tickets.workspace_event_saved")

        # Agent notifications: assigned to me / my customer replied, in the app and by email.
        from .services.notifications import notification_event_saved

        post_save.connect(notification_event_saved, sender=Event, dispatch_uid="tickets.notification_event_saved")
