from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404, render

from gamification.django import api


def index(request):
    """Every user, most points first (a leaderboard), with a link to their page."""
    users = api.with_badge_count(api.with_points()).order_by("-gamification_total_points", "username")
    return render(request, "sketches/index.html", {"users": users})


def user_badges(request, user_id):
    """One user's badges and points (template filters), and every badge with where they stand."""
    shown = get_object_or_404(get_user_model(), pk=user_id)
    return render(request, "sketches/user.html", {
        "shown": shown,
        "catalogue": api.catalogue(shown),   # every badge: awarded_at, progress and target
        "sketches": shown.sketches.order_by("id"),
    })
