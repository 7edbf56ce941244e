"""The agent's side of WhatsApp: sending an approved template from the ticket page."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tickets.selectors import ticket_get
from tickets.services.events import Actor
from tickets.views.common import agent_required

from .models import WhatsAppTemplate
from .whatsapp import whatsapp_template_send


@require_POST
@agent_required
def ticket_template_send(request: HttpRequest, number: int) -> HttpResponse:
    """Fields: template (id of an approved template), param (one per {{n}}, in order)."""
    ticket = ticket_get(user=request.user, number=number)
    if not request.user.has_perm("tickets.reply_publicly"):
        raise PermissionDenied(_("Your role cannot contact customers."))
    template = WhatsAppTemplate.objects.filter(pk=request.POST.get("template") or 0, approved=True).first()
    parameters = [value.strip() for value in request.POST.getlist("param")]
    if template is None:
        messages.error(request, _("Choose one of the approved WhatsApp templates."))
    elif any(not value for value in parameters):
        messages.error(request, _("Fill in every parameter of the template."))
    else:
        try:
            whatsapp_template_send(
                ticket=ticket,
                template=template,
                parameters=parameters,
                author=request.user,
                actor=Actor.agent(request.user),
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Template %(name)s queued for sending on WhatsApp.") % {"name": template.name})
    return redirect("agent:ticket", number=ticket.number)
