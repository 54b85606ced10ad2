"""Signals sent from the event log, after the transaction that wrote the events committed.

Every signal is sent with ``sender=Event`` and these keyword arguments:
``event`` (an ``Event``), ``user_id`` (the key, as text), ``delivery`` (``"commit"``: by the
process whose transaction wrote it, right after that commit; ``"worker"``: by
``manage.py gamification_events``), ``using`` (the database alias). Plus:

- ``badge_awarded``, ``badge_revoked``: ``code``, ``points`` (paid, or taken back: negative);
- ``points_changed``: ``amount``, ``reason``, ``code`` (the badge, or None); sent for every
  event that changed the user's points (an award with points, a revocation, points_award());
- ``unlockable_unlocked``: ``code``;
- ``level_changed``: ``point_type``, ``level`` (the level reached, 0 below the first),
  ``previous`` (the level before), ``name`` (the level's name): a user's total crossed the
  thresholds of ``gamification.level_register()``, up or down.

A rollback sends nothing. The same event may be sent once by each delivery; receivers that
must act once per event key on ``event.id``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.dispatch import Signal

badge_awarded = Signal()
badge_revoked = Signal()
points_changed = Signal()
unlockable_unlocked = Signal()
level_changed = Signal()

ALL = (badge_awarded, badge_revoked, points_changed, unlockable_unlocked, level_changed)


@dataclass(frozen=True)
class Event:
    """One row of gamification.event."""

    id: int
    txid: str
    at: datetime
    user_id: str
    kind: str
    subject: str | None
    points: int
    reason: str | None
    data: Any
    origin: str
    point_type: str

    COLUMNS = "id, txid::text, at, user_id, kind, subject, points, reason, data, origin, point_type"

    @classmethod
    def from_row(cls, row) -> "Event":
        values = list(row)
        if isinstance(values[8], str):  # Django reads jsonb as text
            values[8] = json.loads(values[8])
        return cls(*values)

    def user(self):
        """The user this event is about (AUTH_USER_MODEL), or None if there is none."""
        from django.contrib.auth import get_user_model
        return get_user_model()._default_manager.filter(pk=self.user_id).first()


def listened() -> bool:
    return any(signal.has_listeners() for signal in ALL)


def send(events: list[Event], delivery: str, using: str) -> None:
    """Send the signals for ``events``, in order."""
    for event in events:
        common = {"event": event, "user_id": event.user_id, "delivery": delivery, "using": using}
        if event.kind == "badge_awarded":
            badge_awarded.send(Event, code=event.subject, points=event.points, **common)
        elif event.kind == "badge_revoked":
            badge_revoked.send(Event, code=event.subject, points=event.points, **common)
        elif event.kind == "unlockable_unlocked":
            unlockable_unlocked.send(Event, code=event.subject, **common)
        elif event.kind == "level_changed":
            data = event.data or {}
            level_changed.send(Event, point_type=event.point_type, level=data.get("to"), previous=data.get("from"),
                               name=data.get("name"), **common)
        if event.points:
            badge = event.subject if event.kind in ("badge_awarded", "badge_revoked") else None
            points_changed.send(Event, amount=event.points, reason=event.reason, code=badge, **common)
