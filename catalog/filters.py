"""What a product listing asks for: search words, sort, category, stock, price range and
attribute values, read from a page's or the API's query string (docs/api.md, Catalog).

One parser for both, so a value the API refuses with 400 `invalid` is the value the list
page shows an error for next to its field (and leaves out of the listing)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Protocol

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.models import Category

# The API's sort values, and the name the pages give each (the form's <select>).
SORTS: dict[str, str] = {
    "price": gettext_lazy("Price: low to high"),
    "-price": gettext_lazy("Price: high to low"),
    "name": gettext_lazy("Name"),
    "newest": gettext_lazy("Newest"),
    "bestselling": gettext_lazy("Best-selling"),
}
ATTRIBUTE_PREFIX = "attr."
MAX_QUERY_LENGTH = 200
MAX_ATTRIBUTE_LENGTH = 100
MAX_ATTRIBUTE_VALUES = 50
MAX_PRICE = Decimal("1e12")


class QueryParams(Protocol):
    """A QueryDict: request.GET, or DRF's request.query_params."""

    def get(self, key: str, default: str | None = None) -> str | None: ...

    def getlist(self, key: str) -> list[str]: ...

    def keys(self): ...


@dataclass(frozen=True)
class Listing:
    """A listing's choices, every one already checked. Prices are in `currency` (what the
    shopper sees), `rate` being that currency's units per USD."""

    currency: str
    rate: Decimal
    q: str = ""
    sort: str = ""  # "" = by relevance when searching, else by name
    category: Category | None = None
    in_stock: bool = False
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    # attribute name -> the values asked for (any of them), names in order
    attributes: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def order(self) -> str:
        return self.sort or ("relevance" if self.q else "name")

    @property
    def has_variant_filters(self) -> bool:
        return bool(self.in_stock or self.price_min is not None or self.price_max is not None or self.attributes)

    @property
    def has_filters(self) -> bool:
        return self.has_variant_filters

    @property
    def filter_count(self) -> int:
        """How many filter values are chosen (each attribute value, stock, each bound)."""
        bounds = (self.price_min is not None) + (self.price_max is not None)
        return sum(len(values) for _, values in self.attributes) + self.in_stock + bounds

    def chosen(self, name: str, value: str) -> bool:
        return value in dict(self.attributes).get(name, ())

    def without_category(self) -> Listing:
        return replace(self, category=None)


@dataclass
class ParsedListing:
    listing: Listing
    # parameter -> messages, for what was left out
    errors: dict[str, list[str]] = field(default_factory=dict)


def parse_listing(
    params: QueryParams,
    *,
    currency: str,
    rate: Decimal,
    category: Category | None = None,
    category_param: bool = False,
) -> ParsedListing:
    """The listing `params` ask for. A bad value is left out and named in `errors`
    (parameter -> messages); an empty value counts as absent, as an empty field of a GET
    form sends it. category_param: the category comes as `?category=<slug>` (the API);
    the pages give it in their path (`category`)."""
    errors: dict[str, list[str]] = {}

    def error(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    q = " ".join((params.get("q") or "").split())
    if len(q) > MAX_QUERY_LENGTH:
        error("q", _("Use at most %(count)d characters.") % {"count": MAX_QUERY_LENGTH})
        q = ""

    sort = params.get("sort") or ""
    if sort and sort not in SORTS:
        error("sort", _("Sort by one of: %(values)s.") % {"values": ", ".join(SORTS)})
        sort = ""

    if category_param and params.get("category"):
        slug = params.get("category") or ""
        category = Category.objects.filter(slug=slug).first()
        if category is None:
            error("category", _("There is no category “%(slug)s”.") % {"slug": slug[:MAX_ATTRIBUTE_LENGTH]})

    in_stock_text = (params.get("in_stock") or "").lower()
    if in_stock_text not in ("", "true", "false"):
        error("in_stock", _("Use true or false."))
    in_stock = in_stock_text == "true"

    price_min = _price(params.get("price_min"), "price_min", error)
    price_max = _price(params.get("price_max"), "price_max", error)
    if price_min is not None and price_max is not None and price_min > price_max:
        error("price_min", _("The lowest price must not be above the highest."))
        price_min = price_max = None

    attributes: dict[str, list[str]] = {}
    count = 0
    for key in sorted(k for k in params.keys() if k.startswith(ATTRIBUTE_PREFIX)):
        name = key[len(ATTRIBUTE_PREFIX):]
        values = [value.strip() for value in params.getlist(key) if value.strip()]
        if not name or len(name) > MAX_ATTRIBUTE_LENGTH or any(len(value) > MAX_ATTRIBUTE_LENGTH for value in values):
            error(key[:MAX_ATTRIBUTE_LENGTH + len(ATTRIBUTE_PREFIX)], _("Name an attribute and a value of at most %(count)d characters each.") % {"count": MAX_ATTRIBUTE_LENGTH})
            continue
        count += len(values)
        if count > MAX_ATTRIBUTE_VALUES:
            error(key, _("Choose at most %(count)d attribute values.") % {"count": MAX_ATTRIBUTE_VALUES})
            break
        if values:
            attributes[name] = sorted(set(values))

    listing = Listing(
        currency=currency,
        rate=rate,
        q=q,
        sort=sort,
        category=category,
        in_stock=in_stock,
        price_min=price_min,
        price_max=price_max,
        attributes=tuple((name, tuple(values)) for name, values in attributes.items()),
    )
    return ParsedListing(listing, errors)


def _price(text: str | None, name: str, error) -> Decimal | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount < 0 or amount >= MAX_PRICE:
        error(name, _("Enter an amount like 10 or 19.99."))
        return None
    return amount
