"""Read-only (unmanaged) models over the extension's views (README, "The SQL API").

Never written through the ORM: awards, points and progress change through the extension's
functions (``gamification.django.api``) or the badges' triggers.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .fields import RowKey, UserKeyField, UserRelation, row_key


def _view(name: str) -> str:
    return f'"gamification"."{name}"'


class ReadOnlyModel(models.Model):
    class Meta:
        abstract = True
        managed = False

    def save(self, *args, **kwargs):
        raise TypeError(f"{type(self).__name__} is read-only: use the extension's functions (gamification.django.api)")

    def delete(self, *args, **kwargs):
        raise TypeError(f"{type(self).__name__} is read-only: use the extension's functions (gamification.django.api)")


class Badge(ReadOnlyModel):
    code = models.TextField(primary_key=True)
    name = models.TextField()
    description = models.TextField(null=True)
    points = models.BigIntegerField()
    category = models.TextField(null=True)
    target = models.BigIntegerField(null=True)
    secret = models.BooleanField()
    next = models.TextField(null=True)

    class Meta(ReadOnlyModel.Meta):
        db_table = _view("badges")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class UserBadge(ReadOnlyModel):
    key = RowKey(db_column=row_key("code", "user_id"))
    user_id = UserKeyField()
    user = UserRelation(settings.AUTH_USER_MODEL, related_name="gamification_badges")
    code = models.TextField()
    name = models.TextField()
    points = models.BigIntegerField()
    category = models.TextField(null=True)
    awarded_at = models.DateTimeField()

    class Meta(ReadOnlyModel.Meta):
        db_table = _view("user_badges")
        ordering = ["awarded_at", "code"]
        verbose_name = "award"

    def __str__(self) -> str:
        return f"{self.name} ({self.user_id})"


class UserPoints(ReadOnlyModel):
    user_id = UserKeyField(primary_key=True)
    user = UserRelation(settings.AUTH_USER_MODEL, related_name="gamification_points")
    points = models.BigIntegerField()

    class Meta(ReadOnlyModel.Meta):
        db_table = _view("user_points")
        verbose_name_plural = "user points"

    def __str__(self) -> str:
        return f"{self.user_id}: {self.points}"


class UserProgress(ReadOnlyModel):
    key = RowKey(db_column=row_key("code", "user_id"))
    user_id = UserKeyField()
    user = UserRelation(settings.AUTH_USER_MODEL, related_name="gamification_progress")
    code = models.TextField()
    progress = models.BigIntegerField()
    target = models.BigIntegerField(null=True)

    class Meta(ReadOnlyModel.Meta):
        db_table = _view("user_progress")
        verbose_name_plural = "user progress"


class Unlockable(ReadOnlyModel):
    code = models.TextField(primary_key=True)
    name = models.TextField()
    description = models.TextField(null=True)
    points_required = models.BigIntegerField()

    class Meta(ReadOnlyModel.Meta):
        db_table = '"gamification"."unlockable"'
        ordering = ["points_required", "code"]

    def __str__(self) -> str:
        return self.name


class UserUnlockable(ReadOnlyModel):
    key = RowKey(db_column=row_key("code", "user_id"))
    user_id = UserKeyField()
    user = UserRelation(settings.AUTH_USER_MODEL, related_name="gamification_unlockables")
    code = models.TextField()
    name = models.TextField()
    unlocked_at = models.DateTimeField(null=True)

    class Meta(ReadOnlyModel.Meta):
        db_table = _view("user_unlockables")


class PointsHistory(ReadOnlyModel):
    id = models.BigIntegerField(primary_key=True)
    user_id = UserKeyField()
    user = UserRelation(settings.AUTH_USER_MODEL, related_name="gamification_points_history")
    amount = models.BigIntegerField()
    reason = models.TextField(null=True)
    badge = models.TextField(null=True)
    created_at = models.DateTimeField()

    class Meta(ReadOnlyModel.Meta):
        db_table = _view("points_history")
        ordering = ["id"]
        verbose_name_plural = "points history"


class UserPointsByType(ReadOnlyModel):
    """Every point type's total (``user_points`` is the default type's)."""

    key = RowKey(db_column=row_key("point_type", "user_id"))
    user_id = UserKeyField()
    user = UserRelation(settings.AUTH_USER_MODEL, related_name="gamification_points_by_type")
    point_type = models.TextField()
    points = models.BigIntegerField()

    class Meta(ReadOnlyModel.Meta):
        db_table = _view("user_points_by_type")
        ordering = ["point_type"]
        verbose_name_plural = "user points by type"


class UserLevel(ReadOnlyModel):
    """A user's level in each point type that has levels (``level_register()``)."""

    key = RowKey(db_column=row_key("point_type", "user_id"))
    user_id = UserKeyField()
    user = UserRelation(settings.AUTH_USER_MODEL, related_name="gamification_levels")
    point_type = models.TextField()
    level = models.IntegerField()
    name = models.TextField(null=True)
    points = models.BigIntegerField()
    next_level = models.IntegerField(null=True)
    next_name = models.TextField(null=True)
    points_to_next = models.BigIntegerField(null=True)
    progress = models.DecimalField(max_digits=5, decimal_places=4)

    class Meta(ReadOnlyModel.Meta):
        db_table = _view("user_levels")
        ordering = ["point_type"]


class Leaderboard(ReadOnlyModel):
    """A leaderboard's definition (``leaderboard_register()``); its standings come from
    ``gamification.django.api.leaderboard()`` and ``api.rank()``."""

    code = models.TextField(primary_key=True)
    name = models.TextField()
    description = models.TextField(null=True)
    point_type = models.TextField(null=True)  # NULL for a board of badges
    period = models.TextField()
    time_zone = models.TextField(null=True)
    week_start = models.TextField(null=True)
    ties = models.TextField()
    ranks_by = models.TextField()  # "points" or "badges"
    category = models.TextField(null=True)  # a board of badges of one category

    class Meta(ReadOnlyModel.Meta):
        db_table = _view("leaderboards")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name
