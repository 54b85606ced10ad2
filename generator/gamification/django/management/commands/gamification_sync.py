"""``manage.py gamification_sync [--file PATH] [--dry-run] [--prune] [--database ALIAS]``."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from ...sync import sync


class Command(BaseCommand):
    help = ("Make the database's badges match the project's badge.json (settings.GAMIFICATION_BADGES_FILE): "
            "prints the plan, then adds and changes badges in one transaction. Badges the file does not "
            "list are kept unless --prune (their awards are kept either way).")

    def add_arguments(self, parser):
        parser.add_argument("--file", type=Path, metavar="PATH",
                            help="the badge file (default: settings.GAMIFICATION_BADGES_FILE)")
        parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
        parser.add_argument("--prune", action="store_true",
                            help="also remove the registered badges the file does not list (awards kept)")
        parser.add_argument("--database", metavar="ALIAS",
                            help="database alias (default: settings.GAMIFICATION_DATABASE or 'default')")

    def handle(self, *args, **options):
        sync(options["file"], options["database"], options["dry_run"], options["prune"], write=self.stdout.write)
