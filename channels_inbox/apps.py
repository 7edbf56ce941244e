from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsInboxConfig(AppConfig):
    name = "channels_inbox"
    verbose_name = _("Channels")
    default_auto_field = "django.db.models.BigAutoField"
