"""/i18n/setlang/, named set_language as Django's own (django.conf.urls.i18n), which it
replaces: the header's language selector posts here (accounts.language_views)."""
from django.urls import path

from accounts import language_views

urlpatterns = [
    path("setlang/", language_views.set_language, name="set_language"),
]
