from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KbConfig(AppConfig):
    name = "kb"
    verbose_name = _("Knowledge base")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tickets.signals import message_ingested

        from .auto_answer import on_message_ingested

        message_ingested.connect(on_message_ingested, dispatch_uid="kb.auto_answer")
