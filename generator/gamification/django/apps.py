from django.apps import AppConfig


class GamificationConfig(AppConfig):
    name = "gamification.django"
    # The default label would be "django" (the last part of the name): a label of its own,
    # distinct from django-gamification's ("django_gamification"), for admin URLs and migrations.
    label = "gamification_pg"
    verbose_name = "Gamification"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import dispatch
        dispatch.install()
        post_migrate.connect(sync_after_migrate, sender=self, dispatch_uid="gamification_sync_on_migrate")


def sync_after_migrate(sender, using, verbosity=1, **kwargs) -> None:
    """With GAMIFICATION_SYNC_ON_MIGRATE, migrate ends by applying the badges file (its
    tables exist by then: post_migrate runs after every app's migrations)."""
    from django.core.management import call_command

    from . import conf
    if conf.sync_on_migrate() and using == conf.database() and conf.badges_file() is not None:
        call_command("gamification_sync", verbosity=verbosity)
