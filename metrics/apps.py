from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MetricsConfig(AppConfig):
    name = "metrics"
    verbose_name = _("Metrics")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Issue a survey when a ticket is solved (`tickets` sends the signal after commit).
        from tickets.signals import ticket_solved

        from .services import survey_on_ticket_solved

        ticket_solved.connect(survey_on_ticket_solved, dispatch_uid="metrics.survey_on_ticket_solved")
