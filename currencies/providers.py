"""Where exchange rates come from. Each provider fetches and parses one feed into a
`RateQuote`: units of each currency per 1 USD, exact Decimals at RATE_PLACES.

- `ecb`: the European Central Bank's daily reference feed (keyless XML, rates against EUR,
  turned into USD-based rates as rate[X] / rate[USD]); about 30 currencies, no KWD.
- `openexchangerates`: Open Exchange Rates `latest.json` (USD base), app id from
  OPEN_EXCHANGE_RATES_APP_ID.
- `fixed`: demo rates for offline development (`make run` without a network).

Parsing never half-succeeds: a feed that is malformed, empty or holds a rate that is not a
positive number raises RateFeedError, and the caller keeps the rates it had.
"""
from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Protocol
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urlsplit
from urllib.request import Request, urlopen

from django.conf import settings
from django.utils import timezone

RATE_PLACES = 10  # the precision of every stored rate, the cart's and the order's too
_RATE_QUANTUM = Decimal(1).scaleb(-RATE_PLACES)
_MAX_FEED_BYTES = 1_000_000

ECB_DAILY_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
OXR_LATEST_URL = "https://openexchangerates.org/api/latest.json"
_ECB_NS = "{http://www.ecb.int/vocabulary/2002-08-01/eurofxref}"


class RateFeedError(Exception):
    """A provider could not deliver usable rates; nothing should change."""


@dataclass(frozen=True)
class RateQuote:
    provider: str
    rates: dict[str, Decimal]  # units per 1 USD; the base itself is not listed
    published_at: datetime | None = None
    notes: list[str] = field(default_factory=list)


class RateProvider(Protocol):
    name: str

    def fetch(self) -> RateQuote: ...


def quantize_rate(value: Decimal) -> Decimal:
    return value.quantize(_RATE_QUANTUM, rounding=ROUND_HALF_UP)


def _positive_decimal(raw: object, currency: str, provider: str) -> Decimal:
    try:
        value = raw if isinstance(raw, Decimal) else Decimal(str(raw))
    except (InvalidOperation, ValueError, TypeError):
        raise RateFeedError(f"{provider}: the rate for {currency} is not a number ({raw!r}).") from None
    if isinstance(raw, bool) or not value.is_finite() or value <= 0:
        raise RateFeedError(f"{provider}: the rate for {currency} is not a positive number ({raw!r}).")
    return value


def _currency_code(raw: object, provider: str) -> str:
    if not isinstance(raw, str) or len(raw) != 3 or not raw.isascii() or not raw.isalpha() or not raw.isupper():
        raise RateFeedError(f"{provider}: {raw!r} is not a currency code.")
    return raw


def rebase_to_usd(provider: str, against: dict[str, Decimal], *, base: str, published_at: datetime | None) -> RateQuote:
    """Rates quoted against `base` (1 base = r X) as rates per 1 USD: r[X] / r[USD]."""
    quoted = dict(against)
    quoted[base] = Decimal(1)
    usd = quoted.get("USD")
    if usd is None:
        raise RateFeedError(f"{provider}: the feed has no USD rate, so no USD-based rate can be derived.")
    rates: dict[str, Decimal] = {}
    for currency, rate in quoted.items():
        if currency == "USD":
            continue
        usd_based = quantize_rate(rate / usd)
        if usd_based <= 0:
            raise RateFeedError(f"{provider}: the rate for {currency} rounds to zero.")
        rates[currency] = usd_based
    if not rates:
        raise RateFeedError(f"{provider}: the feed holds no rates.")
    return RateQuote(provider=provider, rates=rates, published_at=published_at)


def parse_ecb_xml(body: bytes) -> RateQuote:
    """The ECB daily feed: <Cube time='YYYY-MM-DD'><Cube currency='USD' rate='1.0823'/>..."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise RateFeedError(f"ecb: the feed is not well-formed XML ({exc}).") from None
    day_cubes = [cube for cube in root.iter(f"{_ECB_NS}Cube") if "time" in cube.attrib]
    if len(day_cubes) != 1:
        raise RateFeedError(f"ecb: expected the rates of one day, found {len(day_cubes)}.")
    day = day_cubes[0]
    try:
        published_at = datetime.strptime(day.attrib["time"], "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise RateFeedError(f"ecb: {day.attrib['time']!r} is not a date.") from None
    against_eur: dict[str, Decimal] = {}
    for cube in day.findall(f"{_ECB_NS}Cube"):
        code = _currency_code(cube.attrib.get("currency"), "ecb")
        if code in against_eur:
            raise RateFeedError(f"ecb: {code} is listed twice.")
        against_eur[code] = _positive_decimal(cube.attrib.get("rate"), code, "ecb")
    if not against_eur:
        raise RateFeedError("ecb: the feed holds no rates.")
    return rebase_to_usd("ecb", against_eur, base="EUR", published_at=published_at)


def parse_oxr_json(body: bytes) -> RateQuote:
    """Open Exchange Rates latest.json: {"timestamp", "base": "USD", "rates": {...}}."""
    try:
        data = json.loads(body, parse_float=Decimal, parse_int=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RateFeedError(f"openexchangerates: the response is not JSON ({exc}).") from None
    if not isinstance(data, dict):
        raise RateFeedError("openexchangerates: the response is not a JSON object.")
    if data.get("error"):
        raise RateFeedError(
            f"openexchangerates: {data.get('message', 'error')}: {data.get('description', 'no description')}"
        )
    raw_rates = data.get("rates")
    if not isinstance(raw_rates, dict) or not raw_rates:
        raise RateFeedError("openexchangerates: the response holds no rates.")
    base = _currency_code(data.get("base", "USD"), "openexchangerates")
    rates = {
        _currency_code(code, "openexchangerates"): _positive_decimal(value, code, "openexchangerates")
        for code, value in raw_rates.items()
    }
    published_at = None
    timestamp = data.get("timestamp")
    if timestamp is not None:
        try:
            published_at = datetime.fromtimestamp(int(timestamp), tz=UTC)
        except (ValueError, TypeError, OverflowError, InvalidOperation):
            raise RateFeedError(f"openexchangerates: {timestamp!r} is not a timestamp.") from None
    rates.pop(base, None)
    return rebase_to_usd("openexchangerates", rates, base=base, published_at=published_at)


def http_get(url: str, *, timeout: float) -> bytes:
    """GET a feed; any failure is a RateFeedError that names the host, never the query
    string (it may carry an app id)."""
    host = urlsplit(url).netloc
    request = Request(url, headers={"User-Agent": "shop-exchange-rates/1.0"})
    try:
        with urlopen(request, timeout=timeout) as response:  # noqa: S310 (fixed https URLs)
            body = response.read(_MAX_FEED_BYTES + 1)
    except HTTPError as exc:
        detail = exc.read(2000).decode("utf-8", "replace")
        raise RateFeedError(f"{host} answered HTTP {exc.code}: {detail[:300]}") from None
    except (URLError, TimeoutError, OSError) as exc:
        raise RateFeedError(f"could not reach {host}: {getattr(exc, 'reason', exc)}") from None
    if len(body) > _MAX_FEED_BYTES:
        raise RateFeedError(f"{host} sent more than {_MAX_FEED_BYTES} bytes.")
    return body


class EcbProvider:
    name = "ecb"

    def fetch(self) -> RateQuote:
        return parse_ecb_xml(http_get(ECB_DAILY_URL, timeout=settings.RATES_FETCH_TIMEOUT_SECONDS))


class OpenExchangeRatesProvider:
    name = "openexchangerates"

    def fetch(self) -> RateQuote:
        app_id = settings.OPEN_EXCHANGE_RATES_APP_ID
        if not app_id:
            raise RateFeedError("openexchangerates: OPEN_EXCHANGE_RATES_APP_ID is not set.")
        url = f"{OXR_LATEST_URL}?{urlencode({'app_id': app_id})}"
        try:
            body = http_get(url, timeout=settings.RATES_FETCH_TIMEOUT_SECONDS)
        except RateFeedError as exc:
            # OXR explains refusals (bad app id, plan limits) in a JSON body.
            raise RateFeedError(f"openexchangerates: {exc}") from None
        return parse_oxr_json(body)


# Demo rates (units per 1 USD), roughly late-2026 levels. Never fetched, never stale in
# development; production picks a real provider (system check shop.W001 warns).
FIXED_DEMO_RATES: dict[str, Decimal] = {
    code: Decimal(rate)
    for code, rate in {
        "EUR": "0.8874",
        "GBP": "0.7532",
        "JPY": "158.09",
        "CAD": "1.4250",
        "AUD": "1.4322",
        "CHF": "0.8305",
        "SEK": "9.9765",
        "KWD": "0.3071",
        "NOK": "9.5643",
        "DKK": "6.6330",
        "PLN": "3.8735",
        "NZD": "1.7802",
        "SGD": "1.2771",
        "HKD": "7.8479",
    }.items()
}


class FixedProvider:
    name = "fixed"

    def fetch(self) -> RateQuote:
        # Published "now": demo rates never age in development (a refresh confirms them).
        return RateQuote(provider=self.name, rates=dict(FIXED_DEMO_RATES), published_at=timezone.now())


PROVIDERS: dict[str, type] = {
    EcbProvider.name: EcbProvider,
    OpenExchangeRatesProvider.name: OpenExchangeRatesProvider,
    FixedProvider.name: FixedProvider,
}


def get_provider(name: str | None = None) -> RateProvider:
    """The provider named by EXCHANGE_RATES_PROVIDER (or `name`)."""
    name = (name or settings.EXCHANGE_RATES_PROVIDER).strip().lower()
    try:
        return PROVIDERS[name]()
    except KeyError:
        raise RateFeedError(f"Unknown exchange-rate provider {name!r}; use one of {', '.join(PROVIDERS)}.") from None
