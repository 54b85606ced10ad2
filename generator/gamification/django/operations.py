"""The migration operation that creates the extension, or says who must."""

from __future__ import annotations

from django.contrib.postgres.operations import CreateExtension
from django.core.management.base import CommandError
from django.db import DatabaseError

CREATE = "CREATE EXTENSION gamification;"


class ExtensionNotCreated(CommandError):
    """migrate stops with this message (no traceback): what a superuser must run."""


class CreateGamificationExtension(CreateExtension):
    """``CREATE EXTENSION gamification`` when it is missing and the role may create it.

    The extension is not trusted, so only a superuser may create it: for any other role
    migrate stops, changing nothing, with the statement a superuser must run (once per
    database, or once in the template database that test databases are cloned from).
    Reversing it leaves the extension in place: dropping it would drop every award (see the
    README, "Backups, restores and removing the extension").
    """

    def __init__(self) -> None:
        super().__init__("gamification")

    def deconstruct(self):
        return self.__class__.__qualname__, [], {}

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        connection = schema_editor.connection
        if connection.vendor != "postgresql":
            raise ExtensionNotCreated(f"gamification needs PostgreSQL; database {connection.alias!r} is {connection.vendor}")
        try:
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        except DatabaseError as exc:
            raise ExtensionNotCreated(self._explain(connection, exc)) from exc

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        pass

    @staticmethod
    def _explain(connection, exc: DatabaseError) -> str:
        cause = exc.__cause__
        sqlstate = getattr(cause, "sqlstate", None)
        settings = connection.settings_dict
        role, dbname = settings.get("USER") or "(default role)", connection.settings_dict["NAME"]
        server = f"host={settings.get('HOST') or 'localhost'} port={settings.get('PORT') or 5432}"
        if sqlstate == "42501":
            return (f'The role "{role}" may not create the extension gamification in database "{dbname}": '
                    "it is not a trusted extension, only a superuser may create it. As a superuser, run once:\n"
                    f'    psql "{server} dbname={dbname}" -c "{CREATE}"\n'
                    f'and give the role the right to register badges: GRANT gamification_admin TO "{role}";\n'
                    "then run migrate again. (For test databases, create the extension in a template "
                    "database instead: README, \"Test suites\".)")
        if sqlstate == "58P01":
            return ("The gamification extension is not installed on the PostgreSQL server of database "
                    f'"{dbname}" ({exc}). Install its files on that server '
                    "(`gamification install --pg-config /path/to/pg_config`, or `make install`), then, as a "
                    f'superuser: psql "{server} dbname={dbname}" -c "{CREATE}"')
        return f"CREATE EXTENSION gamification failed in database \"{dbname}\": {exc}"
