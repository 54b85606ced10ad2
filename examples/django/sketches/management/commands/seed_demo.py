"""``manage.py seed_demo [--username NAME]``: one user who earns the three badges of badge.json
through ordinary ORM writes; the database's triggers do the awarding."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.urls import reverse
from django.utils import timezone

from gamification.django import api
from sketches.models import Sketch


class Command(BaseCommand):
    help = "Create a user who earns Pionner, Collector and Star (run gamification_sync first)."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="ada")

    def handle(self, *args, username, **options):
        User = get_user_model()
        # An account older than a year (an INSERT: no award yet) ...
        user, _ = User.objects.get_or_create(
            username=username, defaults={"date_joined": timezone.now() - timedelta(days=800)})
        # ... then an UPDATE of its auth_user row: Pionner.
        user.first_name = username.capitalize()
        user.save()
        # The fifth sketch's INSERT: Collector.
        for i in range(user.sketches.count(), 5):
            Sketch.objects.create(user=user, title=f"Sketch {i + 1}")
        # An UPDATE of hit_views to 1,000: Star.
        first = user.sketches.order_by("id").first()
        first.hit_views = max(first.hit_views, 1000)
        first.save(update_fields=["hit_views"])

        held = ", ".join(api.badges(user).order_by("awarded_at", "code").values_list("name", flat=True))
        self.stdout.write(f"{user.username} (id {user.pk}) holds: {held or 'nothing'}; "
                          f"points: {api.points(user)}")
        if not held:
            self.stdout.write("No badge: did `python manage.py gamification_sync` run?")
        self.stdout.write(f"Open http://127.0.0.1:8000{reverse('user_badges', args=[user.pk])} "
                          "after `python manage.py runserver`.")
