"""Which tax applies where: the rules of one destination, read once per pricing."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from catalog.selectors import category_chain, category_parents
from taxes.models import TaxRate


@dataclass(frozen=True)
class TaxRule:
    name: str
    rate: Decimal  # percent

    @property
    def label(self) -> str:
        """"VAT 19%", "Sales tax 7.25%"."""
        return f"{self.name} {format_rate(self.rate)}%"


def format_rate(rate: Decimal) -> str:
    """19.00 -> "19", 7.25 -> "7.25", 8.50 -> "8.5"."""
    text = f"{Decimal(rate):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def rate_text(rate: Decimal) -> str:
    """The rate as the API writes it: a decimal string with two places, "19.00"."""
    return f"{Decimal(rate).quantize(Decimal('0.01')):f}"


@dataclass(frozen=True)
class TaxTable:
    """The rules of one destination. For a product, the nearest of its category and that
    category's ancestors with a rule of its own decides (a rule for the region before one
    for the whole country); else the destination's general rule; else no tax."""

    general: TaxRule | None = None
    by_category: dict[int, TaxRule] = field(default_factory=dict)
    shipping: TaxRule | None = None
    parents: dict[int, int | None] = field(default_factory=dict)

    def rule_for(self, category_id: int | None) -> TaxRule | None:
        for ancestor in category_chain(category_id, self.parents):
            if ancestor in self.by_category:
                return self.by_category[ancestor]
        return self.general


NO_TAX = TaxTable()


def normalize_region(region: str | None) -> str:
    return (region or "").strip().upper()


def tax_table(country: str | None, region: str | None = None) -> TaxTable:
    """The tax rules for an address in `country` (and `region`, matched by code without
    regard to case): one query, two when some rule names a category."""
    if not country:
        return NO_TAX
    region = normalize_region(region)
    rows = list(TaxRate.objects.filter(country=country, region__in={"", region}))
    if not rows:
        return NO_TAX
    # The region's own rule wins over the country's for the same category (or none).
    rows.sort(key=lambda row: row.region != "")
    general = None
    shipping = None
    by_category: dict[int, TaxRule] = {}
    for row in rows:
        rule = TaxRule(row.name, row.rate)
        if row.category_id is None:
            general = rule
            shipping = rule if row.shipping_taxable else None
        else:
            by_category[row.category_id] = rule
    parents = category_parents() if by_category else {}
    return TaxTable(general, by_category, shipping, parents)
