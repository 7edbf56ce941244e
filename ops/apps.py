from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpsConfig(AppConfig):
    """Operations: recovering work a broker restart lost, backup and restore."""

    name = "ops"
    verbose_name = _("Operations")
