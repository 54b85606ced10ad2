"""The join between the extension's text user keys and ``AUTH_USER_MODEL``.

The extension stores a user key as text (``42``, a UUID's canonical form), so its views
cannot have a foreign key to the user table. ``UserRelation`` is a ``ForeignObject`` from the
row's ``user_id`` to the user model's primary key, whatever its type: joins compare
``user_id`` with the key cast to text in SQL (never the other way round, so a key of
another shape in the log never breaks a query, and ``user_id``'s indexes serve), and
lookups by a user or a key (``filter(user=request.user)``, ``filter(user__in=[...])``)
compare text with text. User code never casts.
"""

from __future__ import annotations

from django.db import models
from django.db.models.expressions import Col
from django.db.models.fields.related_lookups import RelatedExact, RelatedIn
from django.db.models.functions import Cast
from django.db.models.lookups import Exact
from django.db.models.sql.query import Query


class RowKey(models.TextField):
    """A read-only primary key computed in SQL from a view's columns.

    The views a row of which is one user and one code (user_badges, user_progress,
    user_unlockables) have no single-column key, and the admin needs one: ``db_column`` is
    the SQL expression (``"code" || '/' || "user_id"``; codes never contain ``/``), which
    Django writes after the table's alias. Never written: the models are unmanaged and
    read-only.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("primary_key", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)


def row_key(*columns: str) -> str:
    """``"a" || '/' || "b"``: a RowKey's db_column (the first column gets the alias)."""
    return " || '/' || ".join(f'"{column}"' for column in columns)


class UserKeyField(models.TextField):
    """A user key, as the extension stores it (text). Compared with an expression of another
    type (``OuterRef("pk")``, ``F("user__pk")``), the expression is cast to text in SQL:
    ``UserBadge.objects.filter(user_id=OuterRef("pk"))`` works for any primary key type."""


class _KeyCastMixin:
    def process_rhs(self, compiler, connection):
        sql, params = super().process_rhs(compiler, connection)
        if hasattr(self.rhs, "as_sql") or hasattr(self.rhs, "resolve_expression"):
            sql = f"({sql})::text"
        return sql, params


@UserKeyField.register_lookup
class UserKeyExact(_KeyCastMixin, Exact):
    pass


class UserRelation(models.ForeignObject):
    """The user of a row: ``user_id`` (text) joined to ``AUTH_USER_MODEL``'s primary key."""

    def __init__(self, to, related_name=None, **kwargs):
        kwargs.setdefault("on_delete", models.DO_NOTHING)
        kwargs.setdefault("from_fields", ["user_id"])
        kwargs.setdefault("to_fields", [None])  # the primary key, whatever it is called
        kwargs.setdefault("related_query_name", related_name)
        super().__init__(to, related_name=related_name, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        for key in ("from_fields", "to_fields", "on_delete"):
            kwargs.pop(key, None)
        return name, path, args, kwargs

    # The user's side of the pair as the row's side holds it (text), so that prefetching
    # matches rows to users: prefetch_related("gamification_badges") and ("user").
    def get_foreign_related_value(self, instance):
        return tuple(_as_key(value) for value in super().get_foreign_related_value(instance))

    # Joins, both ways: ON row.user_id = user.pk::text. Django would cast the right-hand
    # side to the left's type, so a join from the user table would read user_id::integer
    # (failing on any key of another shape, and no index on it): the condition is given
    # whole, as an extra restriction, with no joining columns.
    def get_joining_fields(self, reverse_join=False):
        return ()

    def get_extra_restriction(self, alias, related_alias):
        # alias: the user table's; related_alias: this model's (ForeignObjectRel swaps them).
        # alias is None when exclude() pushes the join down into a subquery: the user side is
        # then an outer reference that UserKeyField's lookups cast (below).
        if alias is None:
            return None
        source, target = self.local_related_fields[0], self.foreign_related_fields[0]
        return Exact(Col(related_alias, source), Cast(Col(alias, target), models.TextField()))


def _as_key(value):
    """A user key as the extension stores it: the primary key's text form."""
    if value is None or hasattr(value, "resolve_expression"):
        return value
    return str(value)


class UserExact(RelatedExact):
    """``filter(user=request.user)``, ``filter(user=42)``: user_id = '42'."""

    def get_prep_lookup(self):
        return _as_key(super().get_prep_lookup())

    def get_db_prep_lookup(self, value, connection):
        return "%s", [value]


class UserIn(RelatedIn):
    """``filter(user__in=[...])`` (users or keys), or a queryset of users (its keys as text)."""

    def get_prep_lookup(self):
        prepared = super().get_prep_lookup()
        if isinstance(prepared, Query):
            prepared.clear_select_clause()
            prepared.add_annotation(Cast("pk", models.TextField()), "gamification_user_key", select=True)
            return prepared
        if hasattr(prepared, "resolve_expression"):
            return prepared
        return [_as_key(value) for value in prepared]

    def get_db_prep_lookup(self, value, connection):
        return "%s", [_as_key(v) for v in value]


UserRelation.register_lookup(UserExact)
UserRelation.register_lookup(UserIn)
