from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChatConfig(AppConfig):
    name = "channels_inbox.chat"
    label = "chat"
    verbose_name = _("Live chat")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tickets.signals import message_ingested

        from .adapter import register_chat_adapter
        from .receivers import on_message_ingested

        register_chat_adapter()
        from tickets.routing.services import chat_full_check_register

        from .selectors import agents_at_chat_limit

        chat_full_check_register(agents_at_chat_limit)
        # Connected after the keyword flows (channels_inbox.bots comes first in INSTALLED_APPS):
        # the knowledge-base bot answers only what no flow answered.
        message_ingested.connect(on_message_ingested, dispatch_uid="chat.message_ingested")
