"""Admin actions need the permission to change what they change (issue 12): a staff
member who may only view exchange rates can neither refresh them nor clear a manual
rate, and every action of every admin declares the permissions it needs.

Before issue 12 the exchange-rate actions declared none, so a view-only user could run
them."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from currencies import services as rate_services
from currencies.models import CurrencyRate, ExchangeRateSet, RateOverrideLog

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:currencies_currencyrate_changelist"


def _staff(username: str, *codenames: str) -> Client:
    user = get_user_model().objects.create_user(username, f"{username}@example.com", "pw-staff-1", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="currencies", codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def eur_overridden(known_rates):
    rate_services.set_rate_override(currency="EUR", rate="0.5", user_id=None, note="test")
    return CurrencyRate.objects.get(currency="EUR")


def _run(client: Client, action: str, *currencies: str):
    ids = [str(pk) for pk in CurrencyRate.objects.filter(currency__in=currencies).values_list("pk", flat=True)]
    return client.post(reverse(CHANGELIST), {"action": action, "_selected_action": ids, "index": 0})


def test_view_only_staff_sees_no_rate_actions_and_cannot_run_them(eur_overridden):
    viewer = _staff("viewer", "view_currencyrate")
    page = viewer.get(reverse(CHANGELIST))
    assert page.status_code == 200
    assert "refresh_from_provider" not in page.content.decode()
    assert "clear_overrides" not in page.content.decode()
    sets_before = ExchangeRateSet.objects.count()
    logs_before = RateOverrideLog.objects.count()

    for action in ("refresh_from_provider", "clear_overrides"):
        response = _run(viewer, action, "EUR")
        assert response.status_code in (200, 302, 403)

    assert ExchangeRateSet.objects.count() == sets_before  # nothing fetched or stored
    eur = CurrencyRate.objects.get(currency="EUR")
    assert (eur.is_overridden, eur.rate) == (True, Decimal("0.5"))
    assert RateOverrideLog.objects.count() == logs_before


def test_staff_who_may_change_rates_can_run_both(eur_overridden):
    editor = _staff("editor", "view_currencyrate", "change_currencyrate")

    cleared = _run(editor, "clear_overrides", "EUR")
    refreshed = _run(editor, "refresh_from_provider", "EUR")

    assert cleared.status_code == refreshed.status_code == 302
    assert CurrencyRate.objects.get(currency="EUR").is_overridden is False
    assert ExchangeRateSet.objects.filter(provider="fixed").exists()  # the configured provider's rates


def test_every_admin_action_declares_its_permissions():
    undeclared = []
    for model, model_admin in admin.site._registry.items():
        for action in model_admin.actions or ():
            func = getattr(model_admin, action) if isinstance(action, str) else action
            if not getattr(func, "allowed_permissions", None):
                undeclared.append(f"{model._meta.label}: {getattr(func, '__name__', action)}")
    assert undeclared == []


def test_view_only_staff_cannot_mark_an_email_address_verified(db):
    from allauth.account.models import EmailAddress

    shopper = get_user_model().objects.create_user("shopper", "shopper@example.com", "pw-shopper-1")
    address = EmailAddress.objects.create(user=shopper, email=shopper.email, verified=False, primary=True)
    viewer = Client()
    user = get_user_model().objects.create_user("viewer", "viewer@example.com", "pw-staff-1", is_staff=True)
    user.user_permissions.add(Permission.objects.get(content_type__app_label="account", codename="view_emailaddress"))
    viewer.force_login(user)

    viewer.post(reverse("admin:account_emailaddress_changelist"), {"action": "make_verified", "_selected_action": [address.pk], "index": 0})

    assert EmailAddress.objects.get(pk=address.pk).verified is False
