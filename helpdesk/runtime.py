"""Process-level tuning for long-running web processes."""

from __future__ import annotations

import gc


def gc_freeze_startup() -> None:
    """Move every object that exists once start-up is over (modules, settings, URL patterns,
    templates, model metadata: hundreds of thousands of objects) into the collector's permanent
    generation. Python's full collections then no longer walk them on every request that
    happens to trigger one; at a million tickets those collections were most of the agent
    list's p99 (up to about 150 ms of CPU on 3% of requests)."""
    gc.collect()
    gc.freeze()
