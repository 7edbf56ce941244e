from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MetricsConfig(AppConfig):
    name = "metrics"
    verbose_name = _("Metrics")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # `tickets` sends both signals after commit: issue a survey when a ticket is solved, and
        # take a digit reply to a survey invitation as the answer.
        from tickets.inbound import inbound_claim_register
        from tickets.signals import message_ingested, ticket_solved

        from .services import survey_claim_inbound, survey_on_message_ingested, survey_on_ticket_solved

        ticket_solved.connect(survey_on_ticket_solved, dispatch_uid="metrics.survey_on_ticket_solved")
        message_ingested.connect(survey_on_message_ingested, dispatch_uid="metrics.survey_on_message_ingested")
        # Ingest asks before reopening: a digit reply that answers a survey is claimed (no reopen).
        inbound_claim_register("metrics.survey", survey_claim_inbound)
