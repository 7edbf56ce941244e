"""Attachments for agents: only of tickets they may see, never served as active content."""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_GET

from ..models import Attachment
from ..selectors import ticket_get
from .common import agent_required

# Shown in the page (inline images); everything else is a download.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


@require_GET
@agent_required
def attachment_download(request: HttpRequest, number: int, attachment_id: int) -> FileResponse:
    ticket = ticket_get(user=request.user, number=number)  # 404 for a ticket the agent may not see
    attachment = (
        Attachment.objects.filter(pk=attachment_id, message__ticket=ticket, stored=True).exclude(file="").first()
    )
    if attachment is None:
        raise Http404("No such attachment on this ticket.")
    inline = attachment.content_type in INLINE_TYPES
    response = FileResponse(attachment.file.open("rb"), as_attachment=not inline, filename=attachment.filename)
    response["Content-Type"] = attachment.content_type if inline else "application/octet-stream"
    # Whatever the file really holds, the browser runs none of it.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    return response
