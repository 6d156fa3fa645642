"""A customer is Django's user, with allauth's email records beside it. `Customer` gives
customers their own page in the admin (accounts.admin) and its own permissions (view,
delete). accounts' one table, `LanguagePreference`, keeps the language a signed-in
customer chose, so it follows them to every browser they sign in on."""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models
from django.utils.translation import gettext_lazy as _


class Customer(get_user_model()):  # type: ignore[misc]
    class Meta:
        proxy = True
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-date_joined", "-id"]


class LanguagePreference(models.Model):
    """The page language the customer last chose in the header's selector while signed in
    (one of settings.LANGUAGES); made active again when they sign in (accounts.signals)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="language_preference")
    language = models.CharField(max_length=8, choices=settings.LANGUAGES)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "language preference"

    def __str__(self) -> str:
        return f"{self.user_id}: {self.language}"
