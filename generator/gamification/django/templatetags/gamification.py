"""``{% load gamification %}``: ``{{ user|points }}``, ``{% for b in user|badges %}``,
``{% if user|has_badge:"collector" %}``."""

from django import template

from .. import api

register = template.Library()


@register.filter
def badges(user):
    return api.badges(user)


@register.filter
def points(user):
    return api.points(user)


@register.filter
def has_badge(user, code):
    return api.has_badge(user, code)
