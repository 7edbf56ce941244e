"""WhatsApp message templates: the only messages WhatsApp lets a business send outside the
24-hour customer-service window. They are created and approved in Meta's WhatsApp Manager;
here each is recorded by its name and language with its body (parameters {{1}}, {{2}}, ...)
so agents can pick one and fill it in, and only those marked approved are sent."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

PARAMETER = re.compile(r"\{\{\s*(\d+)\s*\}\}")


class WhatsAppTemplateCategory(models.TextChoices):
    UTILITY = "UTILITY", _("Utility")
    MARKETING = "MARKETING", _("Marketing")
    AUTHENTICATION = "AUTHENTICATION", _("Authentication")


class WhatsAppTemplate(models.Model):
    name = models.CharField(
        _("name"),
        max_length=512,
        validators=[],
        help_text=_("Exactly as in WhatsApp Manager: lower case, digits and underscores, e.g. order_update."),
    )
    language = models.CharField(_("language code"), max_length=15, default="en_US", help_text=_("e.g. en_US, pt_BR."))
    category = models.CharField(
        _("category"), max_length=20, choices=WhatsAppTemplateCategory.choices, default=WhatsAppTemplateCategory.UTILITY
    )
    body = models.TextField(_("body"), help_text=_("The template's body text with {{1}}, {{2}}, ... for parameters."))
    approved = models.BooleanField(
        _("approved by Meta"), default=False, help_text=_("Only approved templates are offered and sent.")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["name", "language"]
        verbose_name = _("WhatsApp template")
        verbose_name_plural = _("WhatsApp templates")
        constraints = [models.UniqueConstraint(fields=["name", "language"], name="whatsapp_template_name_language")]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"

    def clean(self) -> None:
        if not re.fullmatch(r"[a-z0-9_]+", self.name or ""):
            raise ValidationError({"name": _("Use lower-case letters, digits and underscores only.")})
        numbers = sorted({int(n) for n in PARAMETER.findall(self.body or "")})
        if numbers and numbers != list(range(1, len(numbers) + 1)):
            raise ValidationError({"body": _("Parameters must be numbered {{1}}, {{2}}, ... without gaps.")})

    @property
    def parameter_count(self) -> int:
        return len({int(n) for n in PARAMETER.findall(self.body or "")})

    def render(self, parameters: list[str]) -> str:
        """The body as the customer will read it."""

        def value(match: re.Match[str]) -> str:
            index = int(match.group(1)) - 1
            return parameters[index] if 0 <= index < len(parameters) else match.group(0)

        return PARAMETER.sub(value, self.body)
