"""Rate feeds: recorded ECB and Open Exchange Rates responses parse into exact USD-based
rates; malformed or empty feeds and unreachable providers change nothing."""
from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from currencies import providers as rate_providers, rates
from currencies import services as rate_services
from currencies.models import CurrencyRate, ExchangeRateSet
from currencies.providers import RateFeedError, RateQuote, parse_ecb_xml, parse_oxr_json

FIXTURES = Path(__file__).parent / "fixtures" / "rates"


def feed(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def stored_rates() -> dict[str, Decimal]:
    return dict(CurrencyRate.objects.values_list("currency", "feed_rate"))


class RecordedFeed:
    """A provider whose HTTP body is a recorded file (or a network failure)."""

    def __init__(self, monkeypatch, body: bytes | Exception):
        def fake_get(url: str, *, timeout: float) -> bytes:
            self.urls.append(url)
            if isinstance(body, Exception):
                raise body
            return body

        self.urls: list[str] = []
        monkeypatch.setattr(rate_providers, "http_get", fake_get)


# --- parsing ---------------------------------------------------------------------------

def test_ecb_daily_feed_becomes_usd_based_rates():
    quote = parse_ecb_xml(feed("ecb-eurofxref-daily-2026-10-06.xml"))

    assert quote.provider == "ecb"
    assert quote.published_at == datetime(2026, 10, 6, tzinfo=UTC)
    # rate[X] / rate[USD] with USD = 1.1269, half-up at 10 places.
    assert quote.rates["EUR"] == Decimal("0.8873901855")
    assert quote.rates["JPY"] == Decimal("158.0885615405")
    assert quote.rates["GBP"] == Decimal("0.7532167894")
    assert quote.rates["CAD"] == Decimal("1.4249711598")
    assert quote.rates["AUD"] == Decimal("1.4322477593")
    assert quote.rates["CHF"] == Decimal("0.8305084746")
    assert quote.rates["SEK"] == Decimal("9.9764841601")
    assert "USD" not in quote.rates
    assert "KWD" not in quote.rates  # the ECB does not quote it
    assert len(quote.rates) == 29  # 29 quoted currencies, USD out, EUR in


def test_oxr_latest_response_gives_its_usd_rates_exactly():
    quote = parse_oxr_json(feed("oxr-latest-2023-09-14.json"))

    assert quote.provider == "openexchangerates"
    assert quote.published_at == datetime(2023, 9, 14, 10, 0, tzinfo=UTC)
    assert quote.rates["EUR"] == Decimal("0.932111")
    assert quote.rates["GBP"] == Decimal("0.801667")
    assert quote.rates["JPY"] == Decimal("147.38")
    assert quote.rates["CAD"] == Decimal("1.353147")
    assert quote.rates["AUD"] == Decimal("1.555418")
    assert quote.rates["CHF"] == Decimal("0.893238")
    assert quote.rates["SEK"] == Decimal("11.130112")
    assert quote.rates["KWD"] == Decimal("0.308772")
    assert quote.rates["BTC"] == Decimal("0.0000380500")  # 3.8049962e-05, half-up at 10 places
    assert "USD" not in quote.rates


@pytest.mark.parametrize(
    "name, problem",
    [
        ("ecb-malformed.xml", "not well-formed"),
        ("ecb-empty.xml", "no rates"),
        ("ecb-bad-rate.xml", "JPY is not a number"),
        ("ecb-no-usd.xml", "no USD rate"),
    ],
)
def test_unusable_ecb_feed_is_refused(name, problem):
    with pytest.raises(RateFeedError, match=problem):
        parse_ecb_xml(feed(name))


def test_ecb_feed_without_any_day_is_refused():
    with pytest.raises(RateFeedError, match="one day, found 0"):
        parse_ecb_xml(b"<Envelope/>")


@pytest.mark.parametrize(
    "name, problem",
    [
        ("oxr-error-invalid-app-id.json", "invalid_app_id: Invalid App ID"),
        ("oxr-empty-rates.json", "holds no rates"),
        ("oxr-negative-rate.json", "GBP is not a positive number"),
        ("oxr-html-error-page.json", "not JSON"),
    ],
)
def test_unusable_oxr_response_is_refused(name, problem):
    with pytest.raises(RateFeedError, match=problem):
        parse_oxr_json(feed(name))


# --- providers and settings --------------------------------------------------------------

def test_provider_is_chosen_by_setting(settings):
    settings.EXCHANGE_RATES_PROVIDER = "ecb"
    assert rate_providers.get_provider().name == "ecb"
    settings.EXCHANGE_RATES_PROVIDER = "openexchangerates"
    assert rate_providers.get_provider().name == "openexchangerates"
    settings.EXCHANGE_RATES_PROVIDER = "fixed"
    assert rate_providers.get_provider().name == "fixed"


def test_unknown_provider_is_an_error(settings):
    settings.EXCHANGE_RATES_PROVIDER = "bloomberg"
    with pytest.raises(RateFeedError, match="Unknown exchange-rate provider 'bloomberg'"):
        rate_providers.get_provider()


def test_oxr_needs_an_app_id(settings):
    settings.OPEN_EXCHANGE_RATES_APP_ID = ""
    with pytest.raises(RateFeedError, match="OPEN_EXCHANGE_RATES_APP_ID is not set"):
        rate_providers.OpenExchangeRatesProvider().fetch()


def test_oxr_sends_the_app_id_from_the_environment(settings, monkeypatch):
    settings.OPEN_EXCHANGE_RATES_APP_ID = "abc123"
    recorded = RecordedFeed(monkeypatch, feed("oxr-latest-2023-09-14.json"))

    quote = rate_providers.OpenExchangeRatesProvider().fetch()

    assert recorded.urls == ["https://openexchangerates.org/api/latest.json?app_id=abc123"]
    assert quote.rates["KWD"] == Decimal("0.308772")


def test_unreachable_host_is_a_feed_error_without_the_query_string(monkeypatch):
    from urllib.error import URLError

    def refuse(request, timeout):
        raise URLError("Name or service not known")

    monkeypatch.setattr(rate_providers, "urlopen", refuse)
    with pytest.raises(RateFeedError) as raised:
        rate_providers.http_get("https://openexchangerates.org/api/latest.json?app_id=secret", timeout=1)
    assert "could not reach openexchangerates.org" in str(raised.value)
    assert "secret" not in str(raised.value)


# --- storing a refresh -----------------------------------------------------------------

@pytest.mark.usefixtures("seeded_rates")  # the database as the old demo seed left it
def test_ecb_refresh_stores_the_shops_currencies_and_keeps_kwd(monkeypatch, settings):
    settings.EXCHANGE_RATES_PROVIDER = "ecb"
    kwd_before = CurrencyRate.objects.get(currency="KWD")
    RecordedFeed(monkeypatch, feed("ecb-eurofxref-daily-2026-10-06.xml"))
    now = datetime(2026, 10, 6, 15, 0, tzinfo=UTC)

    result = rate_services.refresh_rates(now=now)

    assert result.created is True
    assert result.missing == ["KWD"]
    assert result.updated == ["AUD", "CAD", "CHF", "EUR", "GBP", "JPY", "SEK"]
    rate_set = ExchangeRateSet.objects.get(pk=result.rate_set.pk)
    assert (rate_set.provider, rate_set.published_at, rate_set.fetched_at) == ("ecb", datetime(2026, 10, 6, tzinfo=UTC), now)
    assert rate_set.rates.count() == 7  # only the shop's currencies
    assert rates.current_rate("EUR") == Decimal("0.8873901855")
    assert rates.current_rate("JPY") == Decimal("158.0885615405")
    kwd = CurrencyRate.objects.get(currency="KWD")
    assert (kwd.feed_rate, kwd.confirmed_at, kwd.rate_set_id) == (kwd_before.feed_rate, kwd_before.confirmed_at, kwd_before.rate_set_id)


@pytest.mark.usefixtures("seeded_rates")  # the database as the old demo seed left it
def test_oxr_refresh_stores_every_shop_currency(monkeypatch, settings):
    settings.EXCHANGE_RATES_PROVIDER = "openexchangerates"
    settings.OPEN_EXCHANGE_RATES_APP_ID = "abc123"
    RecordedFeed(monkeypatch, feed("oxr-latest-2023-09-14.json"))

    result = rate_services.refresh_rates()

    assert result.missing == []
    assert stored_rates() == {
        "EUR": Decimal("0.932111"), "GBP": Decimal("0.801667"), "JPY": Decimal("147.38"),
        "CAD": Decimal("1.353147"), "AUD": Decimal("1.555418"), "CHF": Decimal("0.893238"),
        "SEK": Decimal("11.130112"), "KWD": Decimal("0.308772"),
    }


@pytest.mark.usefixtures("seeded_rates")  # the database as the old demo seed left it
def test_same_publication_again_confirms_the_set_instead_of_copying_it(monkeypatch, settings):
    settings.EXCHANGE_RATES_PROVIDER = "ecb"
    RecordedFeed(monkeypatch, feed("ecb-eurofxref-daily-2026-10-06.xml"))
    first = rate_services.refresh_rates(now=datetime(2026, 10, 6, 15, 0, tzinfo=UTC))

    again = rate_services.refresh_rates(now=datetime(2026, 10, 6, 16, 0, tzinfo=UTC))

    assert again.created is False
    assert again.rate_set.pk == first.rate_set.pk
    assert ExchangeRateSet.objects.filter(provider="ecb").count() == 1
    assert ExchangeRateSet.objects.get(pk=first.rate_set.pk).confirmed_at == datetime(2026, 10, 6, 16, 0, tzinfo=UTC)
    assert CurrencyRate.objects.get(currency="EUR").confirmed_at == datetime(2026, 10, 6, 16, 0, tzinfo=UTC)


@pytest.mark.usefixtures("seeded_rates")  # the database as the old demo seed left it
def test_next_publication_is_a_new_set(monkeypatch, settings):
    settings.EXCHANGE_RATES_PROVIDER = "ecb"
    RecordedFeed(monkeypatch, feed("ecb-eurofxref-daily-2026-10-05.xml"))
    rate_services.refresh_rates(now=datetime(2026, 10, 5, 15, 0, tzinfo=UTC))
    assert rates.current_rate("EUR") == Decimal("0.8925383792")  # 1 / 1.1204

    RecordedFeed(monkeypatch, feed("ecb-eurofxref-daily-2026-10-06.xml"))
    result = rate_services.refresh_rates(now=datetime(2026, 10, 6, 15, 0, tzinfo=UTC))

    assert result.created is True
    assert ExchangeRateSet.objects.filter(provider="ecb").count() == 2
    assert rates.current_rate("EUR") == Decimal("0.8873901855")


@pytest.mark.usefixtures("seeded_rates")  # the database as the old demo seed left it
@pytest.mark.parametrize(
    "body",
    [
        feed("ecb-malformed.xml"),
        feed("ecb-empty.xml"),
        feed("ecb-bad-rate.xml"),
        feed("ecb-no-usd.xml"),
        b"",
        OSError("connection reset by peer"),
    ],
    ids=["malformed", "empty", "bad-rate", "no-usd", "zero-bytes", "network"],
)
def test_failed_refresh_changes_nothing_and_is_logged(monkeypatch, settings, caplog, body):
    settings.EXCHANGE_RATES_PROVIDER = "ecb"
    before = stored_rates()
    sets_before = ExchangeRateSet.objects.count()
    eur_before = rates.current_rate("EUR")
    if isinstance(body, Exception):
        def broken(request, timeout):
            raise body
        monkeypatch.setattr(rate_providers, "urlopen", broken)
    else:
        RecordedFeed(monkeypatch, body)

    with caplog.at_level(logging.ERROR, logger="currencies.services"):
        result = rate_services.refresh_rates_keeping_last()

    assert result is None
    assert stored_rates() == before
    assert ExchangeRateSet.objects.count() == sets_before
    assert rates.current_rate("EUR") == eur_before
    assert any("refresh failed; keeping the last rates" in r.getMessage() for r in caplog.records)


@pytest.mark.usefixtures("seeded_rates")  # the database as the old demo seed left it
def test_feed_without_any_shop_currency_is_refused():
    before = stored_rates()
    quote = RateQuote(provider="odd", rates={"THB": Decimal("35.1")})

    with pytest.raises(RateFeedError, match="none of the shop's currencies"):
        rate_services.store_rates(quote=quote)

    assert stored_rates() == before
    assert not ExchangeRateSet.objects.filter(provider="odd").exists()


@pytest.mark.usefixtures("seeded_rates")  # the database as the old demo seed left it
def test_update_rates_command_stores_rates(settings):
    settings.EXCHANGE_RATES_PROVIDER = "fixed"

    call_command("update_rates")

    assert rates.current_rate("EUR") == Decimal("0.8874")
    assert rates.rate_info("EUR").provider == "fixed"


@pytest.mark.usefixtures("seeded_rates")  # the database as the old demo seed left it
def test_update_rates_command_fails_loudly_and_changes_nothing(monkeypatch, settings):
    settings.EXCHANGE_RATES_PROVIDER = "ecb"
    before = stored_rates()
    RecordedFeed(monkeypatch, feed("ecb-malformed.xml"))

    with pytest.raises(CommandError, match="Rates not updated; the last rates stay in force"):
        call_command("update_rates")

    assert stored_rates() == before


@pytest.mark.usefixtures("seeded_rates")  # the database as the old demo seed left it
def test_beat_task_refreshes_and_is_scheduled_hourly(settings):
    from currencies import tasks
    from shop.settings import CELERY_BEAT_SCHEDULE, RATES_REFRESH_SECONDS

    settings.EXCHANGE_RATES_PROVIDER = "fixed"

    outcome = tasks.refresh_exchange_rates.delay().get()

    assert outcome["provider"] == "fixed"
    assert rates.current_rate("KWD") == Decimal("0.3071")
    entry = CELERY_BEAT_SCHEDULE["refresh-exchange-rates"]
    assert entry == {"task": "currencies.tasks.refresh_exchange_rates", "schedule": RATES_REFRESH_SECONDS}
    assert RATES_REFRESH_SECONDS == 3600.0


@pytest.mark.usefixtures("seeded_rates")  # the database as the old demo seed left it
def test_beat_task_survives_a_dead_feed(monkeypatch, settings):
    from currencies import tasks

    settings.EXCHANGE_RATES_PROVIDER = "ecb"
    before = stored_rates()
    RecordedFeed(monkeypatch, OSError("timed out"))

    assert tasks.refresh_exchange_rates.delay().get() is None
    assert stored_rates() == before


# --- publication time: no rollback, staleness from publication ------------------------------

ECB_OCT_5 = "ecb-eurofxref-daily-2026-10-05.xml"
ECB_OCT_6 = "ecb-eurofxref-daily-2026-10-06.xml"


def refresh_with(monkeypatch, name: str, at: datetime):
    RecordedFeed(monkeypatch, feed(name))
    return rate_services.refresh_rates(now=at)


@pytest.mark.usefixtures("seeded_rates")  # the database as the old demo seed left it
def test_an_older_publication_is_refused_and_changes_nothing(monkeypatch, settings, caplog):
    settings.EXCHANGE_RATES_PROVIDER = "ecb"
    refresh_with(monkeypatch, ECB_OCT_6, datetime(2026, 10, 6, 15, 0, tzinfo=UTC))
    rows_before = list(CurrencyRate.objects.order_by("currency").values())
    sets_before = ExchangeRateSet.objects.count()

    RecordedFeed(monkeypatch, feed(ECB_OCT_5))  # a lagging mirror serves yesterday's feed
    with caplog.at_level(logging.WARNING, logger="currencies.services"):
        with pytest.raises(rate_services.RateFeedOutdated, match="dated 2026-10-05 00:00 UTC, older than the rates already stored"):
            rate_services.refresh_rates(now=datetime(2026, 10, 6, 16, 0, tzinfo=UTC))

    assert list(CurrencyRate.objects.order_by("currency").values()) == rows_before
    assert ExchangeRateSet.objects.count() == sets_before
    assert rates.current_rate("EUR") == Decimal("0.8873901855")  # 6 October's, not 5 October's 0.8925383792
    assert any("refresh refused" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


@pytest.mark.usefixtures("seeded_rates")  # the database as the old demo seed left it
def test_the_scheduled_refresh_keeps_the_rates_when_the_feed_is_older(monkeypatch, settings):
    settings.EXCHANGE_RATES_PROVIDER = "ecb"
    refresh_with(monkeypatch, ECB_OCT_6, datetime(2026, 10, 6, 15, 0, tzinfo=UTC))

    RecordedFeed(monkeypatch, feed(ECB_OCT_5))
    result = rate_services.refresh_rates_keeping_last(now=datetime(2026, 10, 6, 16, 0, tzinfo=UTC))

    assert result is None
    assert rates.current_rate("EUR") == Decimal("0.8873901855")
    assert CurrencyRate.objects.get(currency="EUR").confirmed_at == datetime(2026, 10, 6, 15, 0, tzinfo=UTC)


@pytest.mark.usefixtures("seeded_rates")  # the database as the old demo seed left it
def test_another_providers_older_publication_is_not_a_rollback(monkeypatch, settings):
    # Switching from the demo rates (published "now") to the ECB (published this morning).
    rate_services.refresh_rates(provider=rate_providers.FixedProvider())
    settings.EXCHANGE_RATES_PROVIDER = "ecb"

    result = refresh_with(monkeypatch, ECB_OCT_6, datetime(2026, 10, 6, 15, 0, tzinfo=UTC))

    assert result.created is True
    assert rates.current_rate("EUR") == Decimal("0.8873901855")


@pytest.mark.usefixtures("seeded_rates")  # the database as the old demo seed left it
def test_a_frozen_feed_goes_stale_counted_from_its_publication(monkeypatch, settings):
    settings.EXCHANGE_RATES_PROVIDER = "ecb"
    published = datetime(2026, 10, 6, tzinfo=UTC)
    refresh_with(monkeypatch, ECB_OCT_6, published + timedelta(hours=15))

    # The feed keeps returning 6 October's rates; every refresh confirms them.
    refresh_with(monkeypatch, ECB_OCT_6, published + timedelta(hours=47, minutes=30))
    assert rates.rate_info("EUR").is_stale(published + timedelta(hours=47, minutes=59)) is False
    refresh_with(monkeypatch, ECB_OCT_6, published + timedelta(hours=48, minutes=30))

    now = published + timedelta(hours=48, minutes=30)
    eur = rates.rate_info("EUR")
    assert eur.as_of == now  # confirmed a moment ago...
    assert eur.dated == published  # ...but these are 6 October's rates
    assert eur.is_stale(now) is True
    stale, _ = rates.stale_or_missing(now)
    assert "EUR" in [info.currency for info in stale]
    assert ExchangeRateSet.objects.filter(provider="ecb").count() == 1


@pytest.mark.usefixtures("seeded_rates")  # the database as the old demo seed left it
def test_the_fixed_provider_stays_fresh_without_piling_up_sets(settings):
    settings.EXCHANGE_RATES_PROVIDER = "fixed"
    three_days_ago = timezone.now() - timedelta(days=3)
    rate_services.refresh_rates(now=three_days_ago)

    rate_services.refresh_rates()

    info = rates.rate_info("EUR")
    assert info.is_stale() is False
    assert timezone.now() - info.dated < timedelta(minutes=1)
    assert ExchangeRateSet.objects.filter(provider="fixed").count() == 1
    assert rates.stale_or_missing()[0] == []


# --- currencies the provider does not quote, and the stale alert ---------------------------

@pytest.mark.usefixtures("seeded_rates")  # the database as the old demo seed left it
def test_each_refresh_logs_the_currencies_the_provider_does_not_quote(monkeypatch, settings, caplog):
    settings.EXCHANGE_RATES_PROVIDER = "ecb"
    kwd = CurrencyRate.objects.get(currency="KWD")

    with caplog.at_level(logging.WARNING, logger="currencies.services"):
        refresh_with(monkeypatch, ECB_OCT_5, datetime(2026, 10, 5, 15, 0, tzinfo=UTC))
        refresh_with(monkeypatch, ECB_OCT_6, datetime(2026, 10, 6, 15, 0, tzinfo=UTC))

    unquoted = [r for r in caplog.records if r.levelno == logging.WARNING and "ecb quotes no rate for KWD" in r.getMessage()]
    assert len(unquoted) == 2
    assert f"KWD: {kwd.feed_rate} from seed, dated 2026-01-01 00:00 UTC" in unquoted[0].getMessage()
    assert rates.unquoted_currencies() == ["KWD"]


@pytest.mark.usefixtures("seeded_rates")  # the database as the old demo seed left it
def test_stale_alert_names_unquoted_currencies_and_kwd_stays_payable(
    monkeypatch, settings, make_variant, make_cart, django_capture_on_commit_callbacks
):
    settings.EXCHANGE_RATES_PROVIDER = "ecb"
    settings.STAFF_ALERT_EMAILS = ["ops@example.com"]
    RecordedFeed(monkeypatch, feed(ECB_OCT_6))

    with django_capture_on_commit_callbacks(execute=True):
        rate_services.refresh_rates_keeping_last()  # today: the KWD seed rate is months old

    from django.core import mail

    [alert] = mail.outbox
    assert alert.subject == "Stale exchange rates: EUR, GBP, JPY, CAD, AUD, CHF, SEK, KWD"
    assert "Not quoted by ecb: KWD. These stay on their last rate until you set a manual rate" in alert.body
    # Checkout keeps selling in KWD on the last rate.
    from checkout import services as checkout_services

    cart = make_cart({make_variant(price="17.07"): 1}, currency="KWD")
    started = checkout_services.start_checkout(cart_id=cart.pk)
    assert (started.status, started.exchange_rate) == ("checkout", Decimal("0.3071"))


@pytest.mark.usefixtures("seeded_rates")  # the database as the old demo seed left it
def test_the_alert_rearms_only_when_a_rate_was_fresh_in_between(monkeypatch, settings, django_capture_on_commit_callbacks):
    from django.core import mail

    settings.EXCHANGE_RATES_PROVIDER = "ecb"
    settings.STAFF_ALERT_EMAILS = ["ops@example.com"]
    oct5 = datetime(2026, 10, 5, tzinfo=UTC)

    def scheduled_refresh(name: str, at: datetime) -> list[str]:
        RecordedFeed(monkeypatch, feed(name))
        with django_capture_on_commit_callbacks(execute=True):
            rate_services.refresh_rates_keeping_last(now=at)
        return [message.subject for message in mail.outbox]

    # KWD (the ECB has none) is on its months-old seed rate: one alert, at the first refresh.
    assert scheduled_refresh(ECB_OCT_5, oct5 + timedelta(hours=15)) == ["Stale exchange rates: KWD"]
    # 5 October's feed frozen: stale 48 h after its publication, one alert, not one per refresh.
    scheduled_refresh(ECB_OCT_5, oct5 + timedelta(hours=47))
    scheduled_refresh(ECB_OCT_5, oct5 + timedelta(hours=49))
    subjects = scheduled_refresh(ECB_OCT_5, oct5 + timedelta(hours=50))
    assert subjects == ["Stale exchange rates: KWD", "Stale exchange rates: EUR, GBP, JPY, CAD, AUD, CHF, SEK"]
    assert CurrencyRate.objects.get(currency="EUR").stale_alerted_at == oct5 + timedelta(hours=49)
    # 6 October's feed arrives: fresh, re-armed; it freezes too and goes stale again: alerted again.
    scheduled_refresh(ECB_OCT_6, oct5 + timedelta(hours=51))
    assert CurrencyRate.objects.get(currency="EUR").stale_alerted_at is None
    assert CurrencyRate.objects.get(currency="KWD").stale_alerted_at is not None  # still stale: no new alert
    subjects = scheduled_refresh(ECB_OCT_6, oct5 + timedelta(hours=24 + 49))
    assert subjects[2:] == ["Stale exchange rates: EUR, GBP, JPY, CAD, AUD, CHF, SEK"]
    assert len(subjects) == 3
    assert "Not quoted by ecb: KWD" in mail.outbox[2].body
