from django.apps import AppConfig


class SketchesConfig(AppConfig):
    name = "sketches"
    default_auto_field = "django.db.models.BigAutoField"
