from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BotsConfig(AppConfig):
    name = "channels_inbox.bots"
    label = "channels_bots"
    verbose_name = _("Automatic answers")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tickets.signals import message_ingested

        from .receivers import on_message_ingested

        message_ingested.connect(on_message_ingested, dispatch_uid="channels_bots.message_ingested")
