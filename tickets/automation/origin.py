"""Who a rule's change is made by. While a rule's actions run, `acting_as(origin)` is in
force and every audit Event written meanwhile records the rule in `data["automation"]`; the
trigger run reads it back to keep a trigger from reacting to its own changes and to follow a
chain of changes to its end."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from tickets.models import ActorKind
from tickets.services.events import Actor


@dataclass(frozen=True)
class Origin:
    kind: str  # "trigger" or "automation"
    rule_id: int
    name: str
    chain: int | None = None  # the first event of the chain (triggers)
    depth: int = 0  # how many trigger firings deep

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.rule_id, "name": self.name, "chain": self.chain, "depth": self.depth}

    @classmethod
    def from_event_data(cls, data: Any) -> Origin | None:
        info = data.get("automation") if isinstance(data, dict) else None
        if not isinstance(info, dict) or "kind" not in info:
            return None
        return cls(
            kind=str(info["kind"]),
            rule_id=int(info.get("id") or 0),
            name=str(info.get("name") or ""),
            chain=info.get("chain"),
            depth=int(info.get("depth") or 0),
        )


@dataclass(frozen=True)
class RuleActor(Actor):
    """The system, acting for one rule (what a rule may do is decided when it is saved)."""

    rule_kind: str = ""
    rule_id: int = 0

    @classmethod
    def for_origin(cls, origin: Origin) -> RuleActor:
        return cls(kind=ActorKind.SYSTEM, rule_kind=origin.kind, rule_id=origin.rule_id)


_current: ContextVar[Origin | None] = ContextVar("automation_origin", default=None)


def current_origin() -> Origin | None:
    return _current.get()


@contextmanager
def acting_as(origin: Origin) -> Iterator[RuleActor]:
    token = _current.set(origin)
    try:
        yield RuleActor.for_origin(origin)
    finally:
        _current.reset(token)
