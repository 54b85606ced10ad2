from django.contrib import admin
from django.urls import path

from sketches import views

urlpatterns = [
    path("", views.index, name="index"),
    path("users/<int:user_id>/", views.user_badges, name="user_badges"),
    path("admin/", admin.site.urls),
]
