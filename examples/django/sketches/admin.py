from django.contrib import admin

from .models import Sketch


@admin.register(Sketch)
class SketchAdmin(admin.ModelAdmin):
    list_display = ("title", "user", "hit_views")
