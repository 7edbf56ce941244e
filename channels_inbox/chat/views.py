"""HTTP side of live chat: the widget script, the chat frame, visitor sign-up and files, the
agent console, and starting a video call. The conversation itself travels over WebSocket
(consumers.py).

The visitor endpoints authenticate with the signed visitor token sent explicitly (form field
or JSON), never with a cookie, so they are exempt from CSRF: another site cannot make a
visitor's browser send a token it does not know. That also lets the widget work inside an
iframe on another site, where the desk's cookies are not sent.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from tickets.inbound import InboundAttachment
from tickets.models import Attachment
from tickets.selectors import ticket_get
from tickets.views.attachments import INLINE_TYPES
from tickets.views.common import agent_required

from . import services
from .selectors import FILE_SALT, agent_chat_limit, visible_session

STATIC = Path(__file__).resolve().parent / "static" / "chat"


def embed_snippet(request: HttpRequest) -> str:
    base = settings.SITE_URL or request.build_absolute_uri("/").rstrip("/")
    return f'<script src="{base}{reverse("chat:widget")}" async></script>'


@require_GET
@cache_control(public=True, max_age=300)
def widget_js(request: HttpRequest) -> HttpResponse:
    """The one script a site embeds: it adds the chat button and the chat frame."""
    response = HttpResponse((STATIC / "widget.js").read_bytes(), content_type="text/javascript; charset=utf-8")
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _frame_policy(response: HttpResponse, request: HttpRequest) -> HttpResponse:
    from helpdesk.security import content_security_policy

    origins = [o for o in settings.CHAT_ALLOWED_ORIGINS if o] or ["'self'"]
    policy = content_security_policy(nonce=getattr(request, "csp_nonce", None))
    response["Content-Security-Policy"] = policy.replace(
        "frame-ancestors 'none'", "frame-ancestors " + " ".join(origins)
    )
    return response


def _frame_strings() -> dict[str, str]:
    """Words the frame's script shows, in the active language."""
    return {
        "you": _("You"),
        "agent": _("Agent"),
        "bot": _("Assistant"),
        "system": _("Help desk"),
        "online": _("We usually answer within minutes."),
        "offline": _("Offline: we answer by email."),
        "bot_state": _("Our assistant answers first."),
        "waiting": _("Waiting for an agent…"),
        "active": _("You are chatting with an agent."),
        "ended": _("The chat has ended."),
        "reconnecting": _("Reconnecting…"),
        "stars": _("%(n)s of 5"),
        "too_big": _("That file is too large."),
    }


@require_GET
@xframe_options_exempt
def chat_frame(request: HttpRequest) -> HttpResponse:
    """The chat panel inside the widget's iframe, in the visitor's language."""
    language = services.language_pick(request.GET.get("lang") or request.LANGUAGE_CODE)
    with translation.override(language):
        response = render(
            request,
            "chat/frame.html",
            {
                "language": language,
                "strings": _frame_strings(),
                "config": {
                    "lang": language,
                    "prechat": settings.CHAT_PRECHAT_FORM,
                    "maxBytes": settings.CHAT_MAX_ATTACHMENT_BYTES,
                    "visitorUrl": reverse("chat:visitor"),
                    "uploadUrl": reverse("chat:upload"),
                    "socketPath": "/ws/chat/visitor/",
                },
            },
        )
    return _frame_policy(response, request)


@csrf_exempt
@require_POST
def visitor_start(request: HttpRequest) -> JsonResponse:
    """Recognise the visitor from their token, or make a new one: `{"token": ...}` back."""
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        data = {}
    data = data if isinstance(data, dict) else {}
    visitor = services.visitor_from_token(str(data.get("token") or ""))
    language = str(data.get("lang") or "")
    if visitor is None:
        visitor = services.visitor_create(language=language)
    elif language and services.language_pick(language) != visitor.language:
        services.visitor_profile_set(visitor=visitor, language=language)
    return JsonResponse({"token": services.visitor_token(visitor), "name": visitor.name, "email": visitor.email})


@csrf_exempt
@require_POST
def visitor_upload(request: HttpRequest) -> JsonResponse:
    """A visitor shares a file (multipart: token, file, optional text)."""
    visitor = services.visitor_from_token(request.POST.get("token", ""))
    if visitor is None:
        return JsonResponse({"error": "unknown visitor"}, status=403)
    upload = request.FILES.get("file")
    with translation.override(visitor.language):
        if upload is None:
            return JsonResponse({"error": _("Choose a file.")}, status=400)
        if upload.size > settings.CHAT_MAX_ATTACHMENT_BYTES:
            limit = settings.CHAT_MAX_ATTACHMENT_BYTES // (1024 * 1024)
            return JsonResponse(
                {"error": _("%(name)s is larger than %(size)s MB.") % {"name": upload.name, "size": limit}}, status=413
            )
        item = InboundAttachment(
            filename=Path(upload.name or "file").name[:255],
            content_type=upload.content_type or "application/octet-stream",
            content=upload.read(),
        )
        try:
            _session, message = services.chat_visitor_message(
                visitor=visitor, text=request.POST.get("text", ""), files=[item]
            )
        except ValidationError as exc:
            return JsonResponse({"error": " ".join(exc.messages)}, status=400)
    return JsonResponse({"message": message.pk})


@require_GET
def visitor_file(request: HttpRequest, token: str) -> FileResponse:
    """A file of the visitor's own conversation, by a link signed for that visitor."""
    try:
        data = signing.loads(token, salt=FILE_SALT, max_age=settings.CHAT_TOKEN_MAX_AGE_DAYS * 86400)
    except signing.BadSignature:
        raise Http404("No such file.") from None
    attachment = (
        Attachment.objects.filter(
            pk=data.get("a"),
            stored=True,
            message__is_internal=False,
            message__ticket__chat_sessions__visitor_id=data.get("v"),
        )
        .exclude(file="")
        .first()
    )
    if attachment is None:
        raise Http404("No such file.")
    inline = attachment.content_type in INLINE_TYPES
    response = FileResponse(attachment.file.open("rb"), as_attachment=not inline, filename=attachment.filename)
    response["Content-Type"] = attachment.content_type if inline else "application/octet-stream"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
def demo_page(request: HttpRequest) -> HttpResponse:
    """A page of "your site" with the one-line embed, to try the widget."""
    return render(request, "chat/demo.html", {"snippet": embed_snippet(request)})


# --- Agents -------------------------------------------------------------------------------------


@require_GET
@agent_required
def console(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "chat/console.html",
        {
            "snippet": embed_snippet(request),
            "limit": agent_chat_limit(user=request.user),
            "strings": {
                "visitor": _("Visitor"),
                "you": _("You"),
                "bot": _("Assistant"),
                "system": _("Help desk"),
                "take": _("Take"),
                "accept": _("Accept"),
                "online": _("Online: visitors can reach you."),
                "offline": _("Reconnecting…"),
                "ticket": _("Ticket #%(n)s"),
                "ended": _("The chat has ended."),
                "states": {
                    "bot": _("With the bot"),
                    "waiting": _("Waiting for an agent"),
                    "active": _("With an agent"),
                    "offline": _("Left as a ticket (offline)"),
                    "ended": _("Ended"),
                },
            },
            "config": {"socketPath": "/ws/chat/agent/", "maxBytes": settings.HELPDESK_COMPOSER_MAX_ATTACHMENT_BYTES},
        },
    )


@require_POST
@agent_required
def agent_upload(request: HttpRequest, session_id: int) -> JsonResponse:
    session = visible_session(user=request.user, session_id=session_id)
    if session is None:
        raise Http404("No such chat.")
    upload = request.FILES.get("file")
    if upload is None:
        return JsonResponse({"error": _("Choose a file.")}, status=400)
    try:
        message = services.chat_agent_message(
            user=request.user, session=session, text=request.POST.get("text", ""), files=[upload]
        )
    except (ValidationError, PermissionDenied) as exc:
        text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        return JsonResponse({"error": text}, status=400)
    return JsonResponse({"message": message.pk})


@require_POST
@agent_required
def video_call(request: HttpRequest, number: int) -> HttpResponse:
    """Start a video call from a ticket or a chat: the link goes to the customer."""
    ticket = ticket_get(user=request.user, number=number)
    try:
        url, _message = services.video_call_start(ticket=ticket, user=request.user)
    except (ValidationError, PermissionDenied) as exc:
        text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        if request.headers.get("Accept", "").startswith("application/json"):
            return JsonResponse({"error": text}, status=400)
        messages.error(request, text)
        return redirect("agent:ticket", number=number)
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse({"url": url})
    messages.success(request, _("Video call started: %(url)s") % {"url": url})
    return redirect("agent:ticket", number=number)
