"""The Telegram webhook endpoint (no session, no CSRF: the secret token authenticates Telegram)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .webhook import telegram_raw_accept, telegram_secret_valid

# Telegram updates are small; anything bigger is not an update.
MAX_UPDATE_BYTES = 1024 * 1024


@csrf_exempt
@require_POST
def inbound_telegram(request: HttpRequest) -> HttpResponse:
    """200 with an empty body once the update is stored (Telegram reads a JSON body as a Bot API
    call, so none is sent); 403 without the right X-Telegram-Bot-Api-Secret-Token; 413."""
    if not telegram_secret_valid(request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")):
        return JsonResponse({"error": "Missing or wrong X-Telegram-Bot-Api-Secret-Token."}, status=403)
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and int(declared) > MAX_UPDATE_BYTES:
        return JsonResponse({"error": f"An update is at most {MAX_UPDATE_BYTES} bytes."}, status=413)
    body = request.read(MAX_UPDATE_BYTES + 1)
    if len(body) > MAX_UPDATE_BYTES:
        return JsonResponse({"error": f"An update is at most {MAX_UPDATE_BYTES} bytes."}, status=413)
    if not body.strip():
        return JsonResponse({"error": "The body is empty: Telegram sends one Update as JSON."}, status=400)
    telegram_raw_accept(body=body, remote_addr=request.META.get("REMOTE_ADDR", ""))
    return HttpResponse(status=200)
