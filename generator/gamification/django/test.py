"""Test support: every test starts with clean gamification data (README, "Test suites").

    from gamification.django.test import TestCase, TransactionTestCase

- ``TransactionTestCase`` calls ``gamification.data_reset()`` before and after each test
  (Django empties the application's tables and restarts their ids; the extension's data is
  emptied with them, definitions and triggers kept). The test role must be a member of
  gamification_admin.
- ``TestCase`` rolls each test back, awards included; it also makes trigger awards visible
  inside the test (``SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE``:
  they are otherwise applied at commit, which a TestCase never reaches). Signals: wrap the
  code in ``self.captureOnCommitCallbacks(execute=True)``, as for any on_commit callback.
- ``GamificationTestMixin`` adds the same to your own base classes; ``reset_data()`` and
  ``apply_awards_immediately()`` are the two steps, for pytest fixtures:

      @pytest.fixture
      def gamification_db(transactional_db):
          from gamification.django.test import reset_data
          reset_data()
"""

from __future__ import annotations

from django import test
from django.db import connections

from . import conf


def reset_data(using: str | None = None) -> dict:
    """gamification.data_reset(): every user's data removed, definitions and triggers kept."""
    with connections[using or conf.database()].cursor() as cursor:
        cursor.execute("SELECT gamification.data_reset()")
        return cursor.fetchone()[0]


def apply_awards_immediately(using: str | None = None) -> None:
    """Trigger awards at the end of each statement instead of at commit, for this transaction."""
    with connections[using or conf.database()].cursor() as cursor:
        cursor.execute("SET CONSTRAINTS gamification.pending_apply_at_commit IMMEDIATE")


class GamificationTestMixin:
    @classmethod
    def _gamification_database(cls) -> str | None:
        alias = conf.database()
        return alias if alias in cls._databases_names(include_mirrors=False) else None

    @classmethod
    def _fixture_setup(cls):
        alias = cls._gamification_database()
        if alias is not None and not cls._is_atomic():
            reset_data(alias)
        super()._fixture_setup()
        if alias is not None and cls._is_atomic():
            apply_awards_immediately(alias)

    def _fixture_teardown(self):
        super()._fixture_teardown()
        alias = self._gamification_database()
        if alias is not None and not self._is_atomic():
            reset_data(alias)

    @classmethod
    def _is_atomic(cls) -> bool:
        return issubclass(cls, test.TestCase) and cls._databases_support_transactions()


class TransactionTestCase(GamificationTestMixin, test.TransactionTestCase):
    pass


class TestCase(GamificationTestMixin, test.TestCase):
    pass
