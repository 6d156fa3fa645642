"""Stored rates as the shop reads them: cache and invalidation, staleness and its alert,
staff overrides with their audit trail, and the admin."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from currencies import rates
from currencies import services as rate_services
from shop.errors import InvalidInput, RateUnavailable, UnsupportedCurrency
from currencies.models import CurrencyRate, RateOverrideLog
from currencies.providers import RateFeedError, RateQuote
from tests.support.rates import KNOWN, store_rates



@pytest.fixture
def staff(db):
    return get_user_model().objects.create_superuser("rates-admin", "rates@example.com", "pw-rates-admin")


class FailingProvider:
    name = "ecb"

    def fetch(self):
        raise RateFeedError("could not reach www.ecb.europa.eu: timed out")


# --- reading ---------------------------------------------------------------------------

def test_current_rate_reads_the_stored_rate(known_rates):
    assert rates.current_rate("EUR") == Decimal("0.9215")
    assert rates.current_rate("eur") == Decimal("0.9215")
    assert rates.current_rate("KWD") == Decimal("0.3075")
    assert rates.current_rate("USD") == Decimal(1)


def test_unknown_currency_is_unsupported(known_rates):
    for code in ("XYZ", "", None, 978, "BTC"):
        with pytest.raises(UnsupportedCurrency) as refused:
            rates.validate_currency(code)
        assert refused.value.code == "unsupported_currency"
        assert refused.value.status == 400


def test_configured_currency_without_a_rate_cannot_be_chosen(db):
    CurrencyRate.objects.filter(currency="SEK").delete()

    assert "SEK" not in rates.supported_currencies()
    with pytest.raises(RateUnavailable, match="Prices in SEK are not available right now"):
        rates.current_rate("SEK")


def test_current_rate_is_served_from_the_cache(known_rates):
    rates.current_rate("EUR")

    with CaptureQueriesContext(connection) as queries:
        for code in ("EUR", "JPY", "KWD", "GBP"):
            rates.current_rate(code)
        rates.supported_currencies()

    assert len(queries) == 0


def test_a_refresh_reaches_readers_at_once(known_rates):
    assert rates.current_rate("EUR") == Decimal("0.9215")  # now cached

    store_rates({"EUR": "0.9300"})

    assert rates.current_rate("EUR") == Decimal("0.9300")


def test_currency_table_lists_every_supported_currency(known_rates):
    table = {row["code"]: row for row in rates.currency_table()}

    assert list(table) == ["USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "SEK", "KWD"]
    assert table["USD"]["rate"] == "1"
    assert table["EUR"]["rate"] == "0.9215"
    assert table["JPY"]["rate"] == "151.37"
    assert table["EUR"]["stale"] is False
    assert datetime.fromisoformat(table["EUR"]["updated_at"]) == CurrencyRate.objects.get(currency="EUR").confirmed_at


# --- staleness ----------------------------------------------------------------------------

def test_rates_older_than_the_limit_are_stale(db, settings):
    assert settings.RATES_STALE_AFTER == timedelta(hours=48)
    now = timezone.now()
    store_rates(KNOWN, now=now - timedelta(hours=48, minutes=1))
    store_rates({"EUR": "0.9220"}, now=now - timedelta(hours=47))

    stale, missing = rates.stale_or_missing(now)

    assert sorted(info.currency for info in stale) == ["AUD", "CAD", "CHF", "GBP", "JPY", "KWD", "SEK"]
    assert missing == []


def test_stale_rates_alert_staff_once_and_checkout_keeps_them(db, settings, django_capture_on_commit_callbacks):
    settings.STAFF_ALERT_EMAILS = ["ops@example.com"]
    now = timezone.now()
    store_rates(KNOWN, now=now - timedelta(hours=50))

    with django_capture_on_commit_callbacks(execute=True):
        first = rate_services.refresh_rates_keeping_last(provider=FailingProvider(), now=now)
    with django_capture_on_commit_callbacks(execute=True):
        rate_services.refresh_rates_keeping_last(provider=FailingProvider(), now=now + timedelta(hours=1))

    assert first is None
    assert len(mail.outbox) == 1
    alert = mail.outbox[0]
    assert alert.to == ["ops@example.com"]
    assert alert.subject == "Stale exchange rates: EUR, GBP, JPY, CAD, AUD, CHF, SEK, KWD"
    assert "EUR: 0.9215000000 from test, rates of " in alert.body and "(50 h old)" in alert.body
    assert rates.current_rate("EUR") == Decimal("0.9215")  # still priced, still payable


def test_a_fresh_rate_rearms_the_alert(db, settings, django_capture_on_commit_callbacks):
    settings.STAFF_ALERT_EMAILS = ["ops@example.com"]
    now = timezone.now()
    store_rates(KNOWN, now=now - timedelta(hours=50))
    with django_capture_on_commit_callbacks(execute=True):
        rate_services.alert_stale_rates(now=now)
    assert CurrencyRate.objects.get(currency="EUR").stale_alerted_at == now

    store_rates(KNOWN, now=now)  # the feed is back
    assert CurrencyRate.objects.get(currency="EUR").stale_alerted_at is None
    with django_capture_on_commit_callbacks(execute=True):
        rate_services.alert_stale_rates(now=now + timedelta(hours=49))

    assert len(mail.outbox) == 2


# --- overrides ------------------------------------------------------------------------------

def test_override_takes_effect_at_once_and_is_audited(known_rates, staff):
    assert rates.current_rate("KWD") == Decimal("0.3075")  # cached

    rate_services.set_rate_override(currency="KWD", rate="0.3080", user_id=staff.pk, note="bank quote")

    assert rates.current_rate("KWD") == Decimal("0.3080")
    assert rates.rate_info("KWD").provider == "manual"
    entry = RateOverrideLog.objects.get()
    assert (entry.currency, entry.action, entry.old_rate, entry.new_rate, entry.changed_by, entry.note) == (
        "KWD", "set", Decimal("0.3075"), Decimal("0.3080"), staff, "bank quote",
    )


def test_refresh_does_not_replace_an_override(known_rates, staff):
    rate_services.set_rate_override(currency="EUR", rate="0.9000", user_id=staff.pk)

    store_rates({"EUR": "0.9400"})

    row = CurrencyRate.objects.get(currency="EUR")
    assert (row.feed_rate, row.rate) == (Decimal("0.9400"), Decimal("0.9000"))
    assert rates.current_rate("EUR") == Decimal("0.9000")


def test_clearing_an_override_returns_to_the_feed_rate_and_is_audited(known_rates, staff):
    rate_services.set_rate_override(currency="EUR", rate="0.9000", user_id=staff.pk)

    rate_services.clear_rate_override(currency="EUR", user_id=staff.pk)

    assert rates.current_rate("EUR") == Decimal("0.9215")
    cleared = RateOverrideLog.objects.filter(action="cleared").get()
    assert (cleared.old_rate, cleared.new_rate, cleared.changed_by) == (Decimal("0.9000"), Decimal("0.9215"), staff)


@pytest.mark.parametrize("bad", ["abc", "0", "-1", "NaN", "Infinity", "0.12345678901", ""])
def test_bad_override_changes_nothing(known_rates, staff, bad):
    with pytest.raises(InvalidInput):
        rate_services.set_rate_override(currency="EUR", rate=bad, user_id=staff.pk)

    assert rates.current_rate("EUR") == Decimal("0.9215")
    assert not RateOverrideLog.objects.exists()


def test_override_of_an_unknown_currency_is_refused(known_rates, staff):
    with pytest.raises(UnsupportedCurrency):
        rate_services.set_rate_override(currency="XYZ", rate="1.5", user_id=staff.pk)
    assert not RateOverrideLog.objects.exists()


# --- admin ---------------------------------------------------------------------------------

def test_admin_lists_rates_with_age_and_stale_flag(db, client, staff):
    now = timezone.now()
    store_rates(KNOWN, now=now - timedelta(hours=72))
    store_rates({"EUR": "0.9220"}, now=now - timedelta(hours=1))
    client.force_login(staff)

    page = client.get("/admin/currencies/currencyrate/")

    assert page.status_code == 200
    rows = {row.currency: row for row in page.context["cl"].result_list}
    admin = page.context["cl"].model_admin
    assert admin.is_stale(rows["EUR"]) is False
    assert admin.is_stale(rows["JPY"]) is True
    assert admin.age(rows["JPY"]) == "3\xa0days"
    assert admin.age(rows["EUR"]) == "1\xa0hour"
    html = page.content.decode()
    assert "0.9220000000" in html and "151.3700000000" in html


def test_admin_override_is_audited_with_the_staff_member(known_rates, client, staff):
    client.force_login(staff)

    response = client.post(
        "/admin/currencies/currencyrate/KWD/change/", {"override_rate": "0.3080", "override_note": "bank quote"}
    )

    assert response.status_code == 302
    assert rates.current_rate("KWD") == Decimal("0.3080")
    entry = RateOverrideLog.objects.get()
    assert (entry.changed_by, entry.old_rate, entry.new_rate) == (staff, Decimal("0.3075"), Decimal("0.3080"))
    assert client.get("/admin/currencies/rateoverridelog/").status_code == 200


def test_admin_clearing_the_field_clears_the_override(known_rates, client, staff):
    rate_services.set_rate_override(currency="KWD", rate="0.3080", user_id=staff.pk)
    client.force_login(staff)

    client.post("/admin/currencies/currencyrate/KWD/change/", {"override_rate": "", "override_note": ""})

    assert rates.current_rate("KWD") == Decimal("0.3075")
    assert RateOverrideLog.objects.filter(action="cleared", changed_by=staff).count() == 1


def test_admin_refresh_action_calls_the_refresh(known_rates, client, staff, settings):
    settings.EXCHANGE_RATES_PROVIDER = "fixed"
    client.force_login(staff)

    response = client.post(
        "/admin/currencies/currencyrate/",
        {"action": "refresh_from_provider", "_selected_action": ["EUR"]},
        follow=True,
    )

    assert response.status_code == 200
    assert "New rates from fixed" in response.content.decode()
    assert rates.current_rate("EUR") == Decimal("0.8874")


def test_admin_refresh_action_reports_a_dead_feed_and_keeps_rates(known_rates, client, staff, settings, monkeypatch):
    from currencies import providers as rate_providers

    settings.EXCHANGE_RATES_PROVIDER = "ecb"
    monkeypatch.setattr(rate_providers, "http_get", lambda url, timeout: b"<not xml")
    client.force_login(staff)

    response = client.post(
        "/admin/currencies/currencyrate/", {"action": "refresh_from_provider", "_selected_action": ["EUR"]}, follow=True
    )

    assert "Rates not updated; the last rates stay in force" in response.content.decode()
    assert rates.current_rate("EUR") == Decimal("0.9215")


def test_rate_rows_cannot_be_added_or_deleted_in_admin(known_rates, client, staff):
    client.force_login(staff)

    assert client.get("/admin/currencies/currencyrate/add/").status_code == 403
    assert client.get("/admin/currencies/currencyrate/EUR/delete/").status_code == 403
    assert client.get("/admin/currencies/exchangerateset/").status_code == 200


# --- demo rates outside development --------------------------------------------------------

def shop_checks():
    from django.core.checks import run_checks

    return [message for message in run_checks(tags=["shop"]) if message.id.startswith("shop.")]


def test_demo_rates_with_debug_off_are_a_system_check_warning(settings):
    from django.core.checks import WARNING

    settings.DEBUG, settings.EXCHANGE_RATES_PROVIDER = False, "fixed"

    [warning] = shop_checks()

    assert (warning.id, warning.level) == ("shop.W001", WARNING)
    assert "demo exchange rates, not market rates" in warning.msg
    assert "'ecb'" in warning.hint


@pytest.mark.parametrize("debug, provider", [(True, "fixed"), (False, "ecb"), (False, "openexchangerates")])
def test_no_demo_rates_warning_in_development_or_with_a_real_provider(settings, debug, provider):
    settings.DEBUG, settings.EXCHANGE_RATES_PROVIDER = debug, provider

    assert shop_checks() == []


def test_admin_rates_list_warns_about_demo_rates(known_rates, client, staff, settings):
    settings.EXCHANGE_RATES_PROVIDER = "fixed"
    client.force_login(staff)

    page = client.get("/admin/currencies/currencyrate/")

    [message] = [m for m in page.context["messages"] if "demo exchange rates" in m.message]
    assert message.level_tag == "warning"
    assert "demo exchange rates, not market rates" in page.content.decode()


def test_admin_rates_list_has_no_demo_warning_with_a_real_provider(known_rates, client, staff, settings):
    settings.EXCHANGE_RATES_PROVIDER = "ecb"
    client.force_login(staff)

    page = client.get("/admin/currencies/currencyrate/")

    assert "demo exchange rates" not in page.content.decode()


def test_admin_stale_flag_counts_from_the_rates_publication(db, client, staff):
    now = timezone.now()
    quote = RateQuote(provider="ecb", rates={"EUR": Decimal("0.92")}, published_at=now - timedelta(hours=49))
    rate_services.store_rates(quote=quote, now=now)  # fetched just now, published two days ago
    client.force_login(staff)

    page = client.get("/admin/currencies/currencyrate/")

    rows = {row.currency: row for row in page.context["cl"].result_list}
    admin = page.context["cl"].model_admin
    assert admin.is_stale(rows["EUR"]) is True
    assert admin.age(rows["EUR"]) == "2\xa0days, 1\xa0hour"
