"""Public, signed, expiring links to an outbound message's attachments, for providers that
fetch media by URL (Twilio MMS MediaUrl, WhatsApp's media "link").

A link is /inbound/media/<token>/ where the token is the attachment id signed with SECRET_KEY
(django.core.signing, its own salt) and a timestamp; it is refused after
HELPDESK_MEDIA_LINK_MAX_AGE seconds (default one day), and only attachments of outbound,
non-internal messages are served, as downloads."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.http import FileResponse, Http404, HttpRequest
from django.urls import reverse
from django.views.decorators.http import require_GET

from tickets.models import Attachment

SALT = "channels_inbox.outbound-media"


def media_link_max_age() -> int:
    return int(getattr(settings, "HELPDESK_MEDIA_LINK_MAX_AGE", 24 * 3600) or 24 * 3600)


def media_public_url(attachment: Attachment, *, base: str = "") -> str:
    token = signing.TimestampSigner(salt=SALT).sign(str(attachment.pk))
    root = (base or getattr(settings, "TWILIO_WEBHOOK_BASE_URL", "") or settings.SITE_URL).rstrip("/")
    return root + reverse("inbound:media", kwargs={"token": token})


@require_GET
def media_serve(request: HttpRequest, token: str) -> FileResponse:
    try:
        pk = int(signing.TimestampSigner(salt=SALT).unsign(token, max_age=media_link_max_age()))
    except (signing.BadSignature, ValueError):
        raise Http404("No such file.") from None
    attachment = (
        Attachment.objects.filter(pk=pk, stored=True, message__direction="outbound", message__is_internal=False)
        .exclude(file="")
        .first()
    )
    if attachment is None:
        raise Http404("No such file.")
    response = FileResponse(
        attachment.file.open("rb"),
        content_type=attachment.content_type,
        filename=attachment.filename,
        as_attachment=True,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
