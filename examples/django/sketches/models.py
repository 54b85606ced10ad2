from django.conf import settings
from django.db import models


class Sketch(models.Model):
    """The table badge.json's Collector (5 sketches) and Star (1,000 views) watch:
    sketches_sketch. No code here awards anything: the database's triggers do."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sketches")
    title = models.CharField(max_length=200)
    hit_views = models.IntegerField(default=0)

    def __str__(self):
        return self.title
