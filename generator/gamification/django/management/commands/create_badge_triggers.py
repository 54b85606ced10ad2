"""``manage.py create_badge_triggers``: django-pg-badges' name for ``gamification_sync``.

Reads settings.GAMIFICATION_BADGES_FILE (or django-pg-badges' BADGES_FILE); ``--file PATH``
takes a path (in django-pg-badges it could not). Same options as ``gamification_sync``."""

from .gamification_sync import Command as SyncCommand


class Command(SyncCommand):
    help = "Alias of gamification_sync (django-pg-badges' name). " + SyncCommand.help
