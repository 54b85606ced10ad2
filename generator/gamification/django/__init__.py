"""Django integration: ``INSTALLED_APPS = [..., "gamification.django"]``, then ``migrate``.

- the migration creates the extension (or says what a superuser must run);
- ``manage.py gamification_sync`` (alias ``create_badge_triggers``) applies the project's
  badge.json (``settings.GAMIFICATION_BADGES_FILE``) with ``badge_sync``;
- read-only models over the extension's views, joined to ``AUTH_USER_MODEL`` whatever its
  primary key's type (the extension stores user keys as text);
- signals sent after commit, from the event log;
- test support (``gamification.django.test``) and a read-only admin.
"""
