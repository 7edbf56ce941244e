"""What the ticket page's composer shows for SMS: characters and segments of the reply, with
the GSM-7 alphabet handed to the page's script so the live counter follows segments.py."""

from __future__ import annotations

from typing import Any

from .adapter import KEY
from .segments import GSM_BASIC, GSM_EXTENSION, sms_segments


def sms_counter(text: str) -> dict[str, Any]:
    encoding, segments, left = sms_segments(text)
    return {"chars": len(text), "encoding": encoding, "segments": segments, "left": left}


def sms_composer_context(*, channels: list[str], body: str = "", **_ignored: Any) -> dict[str, Any]:
    if KEY not in channels:
        return {}
    return {
        "sms": {
            **sms_counter(body),
            "gsm_basic": "".join(sorted(GSM_BASIC)),
            "gsm_extension": "".join(sorted(GSM_EXTENSION)),
        }
    }
