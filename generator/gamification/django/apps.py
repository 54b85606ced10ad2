from django.apps import AppConfig


class GamificationConfig(AppConfig):
    name = "gamification.django"
    # The default label would be "django" (the last part of the name): a label of its own,
    # distinct from django-gamification's ("django_gamification"), for admin URLs and migrations.
    label = "gamification_pg"
    verbose_name = "Gamification"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import dispatch
        dispatch.install()
