"""accounts keeps no table of its own: a customer is Django's user, with allauth's email
records beside it. `Customer` gives customers their own page in the admin (accounts.admin)
and its own permissions (view, delete)."""
from __future__ import annotations

from django.contrib.auth import get_user_model


class Customer(get_user_model()):  # type: ignore[misc]
    class Meta:
        proxy = True
        verbose_name = "customer"
        verbose_name_plural = "customers"
        ordering = ["-date_joined", "-id"]
