"""``manage.py gamification_import django-gamification [--dry-run] [--force] [--user-field NAME] [--database ALIAS]``."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from ... import importer


class Command(BaseCommand):
    help = ("Import another app's gamification data into the extension, in one transaction, printing the plan "
            "first: from django-gamification (installed, in INSTALLED_APPS), its categories, badge and "
            "unlockable definitions (codes from their names), point changes with their times, badges held "
            "(acquired, not revoked) and progress, for the users of AUTH_USER_MODEL that have an interface. "
            "Every event is marked origin import. Refused when the users already have imported history "
            "(--force imports anyway).")

    def add_arguments(self, parser):
        parser.add_argument("source", choices=[importer.SOURCE], help="the app whose data is imported")
        parser.add_argument("--dry-run", action="store_true",
                            help="print the plan and run the import, then roll it back: nothing is changed")
        parser.add_argument("--force", action="store_true",
                            help="import even if these users already have imported history (their point "
                                 "changes would be added again)")
        parser.add_argument("--user-field", metavar="NAME",
                            help="the user model's foreign key to GamificationInterface (default: the only one)")
        parser.add_argument("--database", metavar="ALIAS",
                            help="the gamification database alias (default: settings.GAMIFICATION_DATABASE "
                                 "or 'default'); django-gamification's tables are read through its models")

    def handle(self, *args, **options):
        importer.run(options["database"], options["dry_run"], options["force"], options["user_field"],
                     write=self.stdout.write)
