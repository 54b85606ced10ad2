"""A read-only admin for definitions and awards. Its actions call the extension's functions
(gamification.badge_award, badge_revoke), never write its tables: the database role needs
gamification_operator. The Django permission "change" on a model is what lets a staff user
run its actions (superusers have it)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import DatabaseError, transaction
from django.template.response import TemplateResponse

from . import api, conf
from .models import Badge, PointsHistory, Unlockable, UserBadge, UserPoints, UserProgress


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_call_permission(self, request):
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")


def _database_error(modeladmin, request, exc: DatabaseError) -> None:
    cause = getattr(exc, "__cause__", None)
    diag = getattr(cause, "diag", None)
    text = (diag.message_primary if diag else None) or str(exc)
    modeladmin.message_user(request, f"Nothing was changed: {text}", messages.ERROR)


class AwardForm(forms.Form):
    users = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}),
                            help_text="User keys (primary keys), separated by spaces, commas or lines.")

    def keys(self) -> list[str]:
        return [key for key in self.cleaned_data["users"].replace(",", " ").split() if key]


@admin.register(Badge)
class BadgeAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "points", "category", "target", "secret", "next"]
    search_fields = ["code", "name"]
    actions = ["award"]

    @admin.action(description="Award the selected badges to users…", permissions=["call"])
    def award(self, request, queryset):
        form = AwardForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            try:
                with transaction.atomic(using=conf.database()):
                    done = sum(bool(api.award(key, badge.code)) for badge in queryset for key in sorted(form.keys()))
            except DatabaseError as exc:
                _database_error(self, request, exc)
                return None
            self.message_user(request, f"{done} new award(s) (gamification.badge_award).", messages.SUCCESS)
            return None
        return TemplateResponse(request, "gamification_pg/award.html", {
            **self.admin_site.each_context(request), "title": "Award badges", "form": form,
            "badges": queryset, "opts": self.opts,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME})


@admin.register(UserBadge)
class UserBadgeAdmin(ReadOnlyAdmin):
    list_display = ["user_id", "code", "name", "points", "awarded_at"]
    list_filter = ["code"]
    search_fields = ["user_id", "code"]
    actions = ["revoke"]

    @admin.action(description="Revoke the selected awards", permissions=["call"])
    def revoke(self, request, queryset):
        try:
            with transaction.atomic(using=conf.database()):
                done = sum(bool(api.revoke(row.user_id, row.code)) for row in queryset.order_by("user_id", "code"))
        except DatabaseError as exc:
            _database_error(self, request, exc)
            return
        self.message_user(request, f"{done} award(s) revoked (gamification.badge_revoke).", messages.SUCCESS)


@admin.register(UserPoints)
class UserPointsAdmin(ReadOnlyAdmin):
    list_display = ["user_id", "points"]
    search_fields = ["user_id"]


@admin.register(UserProgress)
class UserProgressAdmin(ReadOnlyAdmin):
    list_display = ["user_id", "code", "progress", "target"]
    list_filter = ["code"]


@admin.register(Unlockable)
class UnlockableAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "points_required"]


@admin.register(PointsHistory)
class PointsHistoryAdmin(ReadOnlyAdmin):
    list_display = ["id", "user_id", "amount", "reason", "badge", "created_at"]
    search_fields = ["user_id"]
