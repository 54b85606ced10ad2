from django.apps import AppConfig


class GamificationConfig(AppConfig):
    name = "gamification.django"
    # Not "gamification": django-gamification's label, whose tables and migration history
    # a project importing from it still has (manage.py gamification_import_django_gamification).
    label = "gamification_pg"
    verbose_name = "Gamification"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import dispatch
        dispatch.install()
