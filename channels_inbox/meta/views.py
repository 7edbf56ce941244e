"""The Meta webhook endpoint, /inbound/meta/ (no session, no CSRF: the signature authenticates
Meta). GET answers the subscription check; POST takes a signed delivery."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .signature import SIGNATURE_HEADER, meta_request_verified, meta_verify_token_valid
from .webhook import NotMetaPayload, meta_raw_accept

MAX_BODY_BYTES = 4 * 1024 * 1024


def _verify_challenge(request: HttpRequest) -> HttpResponse:
    """hub.mode=subscribe with our META_VERIFY_TOKEN: echo hub.challenge; else 403."""
    mode = request.GET.get("hub.mode", "")
    if mode == "subscribe" and meta_verify_token_valid(request.GET.get("hub.verify_token", "")):
        return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")
    return HttpResponse("Wrong hub.mode or hub.verify_token.", status=403, content_type="text/plain")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def meta_webhook(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _verify_challenge(request)
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return JsonResponse({"error": f"A delivery is at most {MAX_BODY_BYTES} bytes."}, status=413)
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        return JsonResponse({"error": f"A delivery is at most {MAX_BODY_BYTES} bytes."}, status=413)
    if not meta_request_verified(body=body, header=request.headers.get(SIGNATURE_HEADER, "")):
        return JsonResponse({"error": f"Missing or wrong {SIGNATURE_HEADER}."}, status=403)
    try:
        meta_raw_accept(body=body, remote_addr=request.META.get("REMOTE_ADDR", ""))
    except NotMetaPayload as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return HttpResponse("EVENT_RECEIVED", content_type="text/plain")
