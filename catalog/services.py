"""Catalog writes: the products and variants of a JSON catalog file (upsert by slug and
SKU). The file's stock figures are the inventory's to set (checkout.imports)."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

from django.db import transaction
from django.utils.text import slugify
from moneyed import Money

from catalog.models import Category, Product, Variant
from shop.errors import InvalidInput

# Column limits of the models, checked up front so a long value is a named error, not a
# database error halfway through the import.
MAX_SLUG_LENGTH = Product._meta.get_field("slug").max_length
MAX_NAME_LENGTH = Product._meta.get_field("name").max_length
MAX_SKU_LENGTH = Variant._meta.get_field("sku").max_length
MAX_VARIANT_NAME_LENGTH = Variant._meta.get_field("name").max_length
MAX_CATEGORY_NAME_LENGTH = Category._meta.get_field("name").max_length
MAX_COUNT = 2**31 - 1  # stock and thresholds are 32-bit integer columns
MAX_PRICE = Decimal("1e10")  # 12 digits, 2 of them decimals


@dataclass(frozen=True)
class StockFigure:
    """The stock a catalog file gives a variant, for the stock app to set; `where` names
    the entry in the file."""

    variant_id: int
    on_hand: int
    low_stock_threshold: int | None
    where: str


@dataclass
class ImportResult:
    products_created: int = 0
    products_updated: int = 0
    variants_created: int = 0
    variants_updated: int = 0
    stock_movements: int = 0
    skus: list[str] = field(default_factory=list)
    stock: list[StockFigure] = field(default_factory=list)  # what to set, in file order


def fail(where: str, message: str) -> NoReturn:
    raise InvalidInput(f"{where}: {message}", details={where: [message]})


def _nul_path(value: Any, path: str) -> str | None:
    """Where a NUL character hides in the file (PostgreSQL refuses it in text and JSON)."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _nul_path(key, path) or _nul_path(item, f"{path}.{key}")
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_path(item, f"{path}[{index}]")
            if found:
                return found
    return None


def _validate(data: Any) -> list[dict[str, Any]]:
    """Check the whole file before writing anything; the first bad entry is named."""
    if not isinstance(data, dict) or not isinstance(data.get("products"), list):
        fail("file", 'must be an object with a "products" list')
    nul_at = _nul_path(data["products"], "products")
    if nul_at:
        fail(nul_at, "must not contain NUL characters")
    seen_skus: set[str] = set()
    seen_slugs: set[str] = set()
    for i, product in enumerate(data["products"]):
        where = f"products[{i}]"
        if not isinstance(product, dict):
            fail(where, "must be an object")
        slug = product.get("slug")
        if not isinstance(slug, str) or not slug or slugify(slug) != slug or len(slug) > MAX_SLUG_LENGTH:
            fail(f"{where}.slug", f"must be a lowercase slug like 'linen-shirt' of at most {MAX_SLUG_LENGTH} characters")
        if slug in seen_slugs:
            fail(f"{where}.slug", f"{slug!r} appears twice in the file")
        seen_slugs.add(slug)
        where = f"products[{i}] ({slug})"
        if not isinstance(product.get("name"), str) or not product["name"].strip():
            fail(f"{where}.name", "is required")
        if len(product["name"].strip()) > MAX_NAME_LENGTH:
            fail(f"{where}.name", f"must be at most {MAX_NAME_LENGTH} characters")
        for key in ("description", "category"):
            if key in product and product[key] is not None and not isinstance(product[key], str):
                fail(f"{where}.{key}", "must be text")
        category = product.get("category")
        if category and (not slugify(category) or len(category) > MAX_CATEGORY_NAME_LENGTH):
            fail(f"{where}.category", f"must be a name of at most {MAX_CATEGORY_NAME_LENGTH} characters with letters or digits")
        variants = product.get("variants")
        if not isinstance(variants, list) or not variants:
            fail(f"{where}.variants", "must be a non-empty list")
        for j, variant in enumerate(variants):
            vwhere = f"{where}.variants[{j}]"
            if not isinstance(variant, dict):
                fail(vwhere, "must be an object")
            sku = variant.get("sku")
            if not isinstance(sku, str) or not sku.strip() or sku != sku.strip() or len(sku) > MAX_SKU_LENGTH:
                fail(f"{vwhere}.sku", f"must be text of 1 to {MAX_SKU_LENGTH} characters without surrounding spaces")
            if sku in seen_skus:
                fail(f"{vwhere}.sku", f"{sku!r} appears twice in the file")
            seen_skus.add(sku)
            vwhere = f"{vwhere} ({sku})"
            price = variant.get("price_usd")
            try:
                amount = Decimal(str(price)) if isinstance(price, (str, int)) and not isinstance(price, bool) else None
            except InvalidOperation:
                amount = None
            if (
                amount is None
                or not amount.is_finite()
                or amount < 0
                or amount >= MAX_PRICE
                or amount != amount.quantize(Decimal("0.01"))
            ):
                fail(f"{vwhere}.price_usd", 'must be a decimal string of 0 or more with at most 2 decimals, like "19.99"')
            stock = variant.get("stock")
            if isinstance(stock, bool) or not isinstance(stock, int) or not 0 <= stock <= MAX_COUNT:
                fail(f"{vwhere}.stock", "must be a whole number of 0 or more")
            threshold = variant.get("low_stock_threshold")
            if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, int) or not 0 <= threshold <= MAX_COUNT):
                fail(f"{vwhere}.low_stock_threshold", "must be a whole number of 0 or more")
            if "attributes" in variant and not isinstance(variant["attributes"], dict):
                fail(f"{vwhere}.attributes", "must be an object")
            if "name" in variant and variant["name"] is not None and (
                not isinstance(variant["name"], str) or len(variant["name"]) > MAX_VARIANT_NAME_LENGTH
            ):
                fail(f"{vwhere}.name", f"must be text of at most {MAX_VARIANT_NAME_LENGTH} characters")
    return data["products"]


def import_products(data: Any, *, only_new: bool = False) -> ImportResult:
    """The catalog's part of a catalog file (checkout.imports.import_catalog does the
    whole file): upsert products and variants by slug and SKU, and list the stock figures
    the file gives each variant for the inventory to set (result.stock). The whole file is
    checked first: any bad entry raises InvalidInput naming it and nothing is written.
    Catalog rows are written with plain UPDATEs, which do not block a checkout's
    foreign-key checks on the variant.

    only_new: add what the shop does not have yet and leave existing products and variants
    (and their stock: they are not listed) exactly as staff left them (the demo seed).
    """
    products = _validate(data)
    result = ImportResult()
    with transaction.atomic():
        for i, entry in enumerate(products):
            product = Product.objects.filter(slug=entry["slug"]).first()
            if product is not None and only_new:
                pass
            else:
                category = None
                if entry.get("category"):
                    category, _ = Category.objects.get_or_create(
                        slug=slugify(entry["category"]), defaults={"name": entry["category"]}
                    )
                fields = {"name": entry["name"].strip(), "description": entry.get("description") or "", "category": category}
                if product is None:
                    product = Product.objects.create(slug=entry["slug"], **fields)
                    result.products_created += 1
                else:
                    Product.objects.filter(pk=product.pk).update(**fields)
                    result.products_updated += 1
            for position, v in enumerate(entry["variants"]):
                existing = Variant.objects.filter(sku=v["sku"]).first()
                vwhere = f"products[{i}] ({product.slug}).variants[{position}] ({v['sku']})"
                if existing is not None and existing.product_id != product.pk:
                    # A SKU moving to another product would corrupt old carts' snapshots.
                    fail(f"{vwhere}.sku", f"already belongs to product {existing.product.slug!r}")
                result.skus.append(v["sku"])
                if existing is not None and only_new:
                    continue
                fields = {
                    "name": v.get("name") or "",
                    "attributes": v.get("attributes") or {},
                    "price": Money(Decimal(str(v["price_usd"])), "USD"),
                    "position": position,
                    "is_active": True,
                }
                if existing is None:
                    variant_id = Variant.objects.create(product=product, sku=v["sku"], **fields).pk
                    result.variants_created += 1
                else:
                    Variant.objects.filter(pk=existing.pk).update(**fields)
                    variant_id = existing.pk
                    result.variants_updated += 1
                result.stock.append(StockFigure(variant_id, v["stock"], v.get("low_stock_threshold"), vwhere))
    return result
