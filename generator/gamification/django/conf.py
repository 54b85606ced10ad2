"""The app's settings, each with its default."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings


def badges_file() -> Path | None:
    """``GAMIFICATION_BADGES_FILE`` (django-pg-badges' ``BADGES_FILE`` is read too)."""
    value = getattr(settings, "GAMIFICATION_BADGES_FILE", None) or getattr(settings, "BADGES_FILE", None)
    return Path(value) if value else None


def database() -> str:
    """The database alias where the extension is (``GAMIFICATION_DATABASE``, default "default")."""
    return getattr(settings, "GAMIFICATION_DATABASE", "default")


def signals_on_commit() -> bool:
    """``GAMIFICATION_SIGNALS_ON_COMMIT`` (default True): send the signals for the events of
    this process's transactions once they commit."""
    return getattr(settings, "GAMIFICATION_SIGNALS_ON_COMMIT", True)


def consumer() -> str:
    """The event-log consumer of ``manage.py gamification_events`` (``GAMIFICATION_CONSUMER``)."""
    return getattr(settings, "GAMIFICATION_CONSUMER", "django")


def sync_on_migrate() -> bool:
    """``GAMIFICATION_SYNC_ON_MIGRATE`` (default False): after ``migrate``, apply the badges
    file as ``manage.py gamification_sync`` would (additions and changes; removals still
    need ``gamification_sync --prune``)."""
    return getattr(settings, "GAMIFICATION_SYNC_ON_MIGRATE", False)
