"""Reading a user's badges and points, querying users by them, and changing them through
the extension's functions (never by writing its tables).

Every function takes a user instance or a primary key (integer, bigint, UUID, any type):
the extension's key is its text form, and the conversion happens here or in SQL.

    from gamification.django import api
    api.badges(request.user)            # UserBadge queryset
    api.points(request.user)            # int
    api.has_badge(request.user, "collector")
    api.with_points(User.objects.all()).order_by("-gamification_total_points")   # a leaderboard
    api.holding("collector")            # the users who hold it (a User queryset)
    api.leaderboard("weekly", 10); api.rank(request.user, "weekly", around=2)   # Standing rows
    api.award(user, "collector"); api.revoke(user, "collector"); api.award_points(user, 5, "bonus")
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import Count, Exists, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from . import conf
from .models import Badge, UserBadge, UserLevel, UserPoints, UserPointsByType, UserProgress, UserUnlockable


def key(user) -> str:
    """The extension's key for a user instance or a primary key value."""
    return str(getattr(user, "pk", user))


def badges(user) -> QuerySet:
    return UserBadge.objects.filter(user_id=key(user))


def has_badge(user, code: str) -> bool:
    return UserBadge.objects.filter(user_id=key(user), code=code).exists()


def points(user, point_type: str | None = None) -> int:
    """The user's total of the default type, or of point_type."""
    if point_type is None:
        return UserPoints.objects.filter(user_id=key(user)).values_list("points", flat=True).first() or 0
    return (UserPointsByType.objects.filter(user_id=key(user), point_type=point_type)
            .values_list("points", flat=True).first() or 0)


def level(user, point_type: str = "points") -> UserLevel | None:
    """The user's level in point_type (None when the type has no levels or the user no total)."""
    return UserLevel.objects.filter(user_id=key(user), point_type=point_type).first()


def progress(user) -> dict[str, tuple[int, int | None]]:
    """Badge code -> (progress, target)."""
    return {row.code: (row.progress, row.target) for row in UserProgress.objects.filter(user_id=key(user))}


def unlockables(user) -> QuerySet:
    return UserUnlockable.objects.filter(user_id=key(user))


def catalogue(user) -> list[dict]:
    """gamification.badges_for(): every badge the user may see, with progress and award time."""
    with connections[conf.database()].cursor() as cursor:
        cursor.execute("SELECT * FROM gamification.badges_for(%s::text)", [key(user)])
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def _users(queryset: QuerySet | None) -> QuerySet:
    return queryset if queryset is not None else get_user_model()._default_manager.all()


def holding(code: str, queryset: QuerySet | None = None) -> QuerySet:
    """The users (of ``queryset``, default all) who hold badge ``code``."""
    return _users(queryset).filter(Exists(UserBadge.objects.filter(user_id=OuterRef("pk"), code=code)))


def with_points(queryset: QuerySet | None = None) -> QuerySet:
    """Users annotated with ``gamification_total_points`` (0 for users without any)."""
    total = UserPoints.objects.filter(user_id=OuterRef("pk")).values("points")[:1]
    return _users(queryset).annotate(
        gamification_total_points=Coalesce(Subquery(total), Value(0), output_field=IntegerField()))


def with_badge_count(queryset: QuerySet | None = None) -> QuerySet:
    """Users annotated with ``gamification_badge_count``."""
    count = (UserBadge.objects.filter(user_id=OuterRef("pk")).order_by().values("user_id")
             .annotate(n=Count("*")).values("n")[:1])
    return _users(queryset).annotate(
        gamification_badge_count=Coalesce(Subquery(count), Value(0), output_field=IntegerField()))


@dataclass(frozen=True)
class Standing:
    """One row of a leaderboard: rank, the user's key, score, when it was reached, and the
    user (AUTH_USER_MODEL instance, or None when no user has that key)."""

    rank: int
    user_id: str
    score: int
    reached_at: object
    user: object


def _standings(sql: str, params: list) -> list[Standing]:
    with connections[conf.database()].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    model = get_user_model()
    pks = []
    for row in rows:  # a key that is not a primary key of this model has no user
        try:
            pks.append(model._meta.pk.to_python(row[1]))
        except (TypeError, ValueError, ValidationError):
            pass
    by_key = {str(pk): user for pk, user in model._default_manager.in_bulk(pks).items()}
    return [Standing(rank, user_id, score, reached_at, by_key.get(user_id)) for rank, user_id, score, reached_at in rows]


def leaderboard(code: str, n: int = 10, skip: int = 0, at=None) -> list[Standing]:
    """A page of leaderboard ``code`` (gamification.leaderboard_top): n users after skip, of
    the current period, or of the period holding ``at`` (last week's final standings)."""
    return _standings("SELECT rank, user_id, score, reached_at FROM gamification.leaderboard_top(%s, %s, %s, %s)",
                      [code, n, skip, at])


def rank(user, code: str, around: int = 0, at=None) -> list[Standing]:
    """The user's place on leaderboard ``code`` with ``around`` users on each side
    (gamification.leaderboard_rank); empty when the user has no score in that period."""
    return _standings("SELECT rank, user_id, score, reached_at FROM gamification.leaderboard_rank(%s, %s::text, %s, %s)",
                      [code, key(user), around, at])


def _call(sql: str, params: list) -> object:
    with connections[conf.database()].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def award(user, code: str) -> object:
    """gamification.badge_award (operators): idempotent."""
    return _call("SELECT gamification.badge_award(%s::text, %s)", [key(user), code])


def revoke(user, code: str) -> object:
    """gamification.badge_revoke (operators)."""
    return _call("SELECT gamification.badge_revoke(%s::text, %s)", [key(user), code])


def award_points(user, amount: int, reason: str, point_type: str | None = None) -> object:
    """gamification.points_award (operators), in the default type or point_type."""
    if point_type is None:
        return _call("SELECT gamification.points_award(%s::text, %s, %s)", [key(user), amount, reason])
    return _call("SELECT gamification.points_award(%s::text, %s, %s, %s)", [key(user), amount, reason, point_type])


def step(user, code: str, amount: int = 1) -> object:
    """gamification.badge_progress (operators): awards the badge when progress reaches its target."""
    return _call("SELECT gamification.badge_progress(%s::text, %s, %s)", [key(user), code, amount])


__all__ = ["Badge", "Standing", "award", "award_points", "badges", "catalogue", "has_badge", "holding", "key",
           "leaderboard", "level", "points", "rank",
           "progress", "revoke", "step", "unlockables", "with_badge_count", "with_points"]
