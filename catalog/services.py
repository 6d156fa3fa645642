"""Catalog writes: the products and variants of a JSON catalog file (upsert by slug and
SKU). The file's stock figures are the inventory's to set (checkout.imports).

It also holds the checks every section of a catalog file shares (`fail`, `decimal_field`,
`whole_number`, `text_field`, `country_field`, `no_nul`, `known_keys`), so the shipping, tax and
discount sections, in the apps above, name a bad entry in the same words as a bad
variant."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NoReturn

from django.core.files import File
from django.db import transaction
from django.db.models import F
from django.utils.text import slugify
from django_countries import countries
from moneyed import Money

from catalog import images
from catalog.models import Category, Product, ProductImage, Variant
from shop.errors import InvalidInput

# Column limits of the models, checked up front so a long value is a named error, not a
# database error halfway through the import.
MAX_SLUG_LENGTH = Product._meta.get_field("slug").max_length
MAX_NAME_LENGTH = Product._meta.get_field("name").max_length
MAX_SKU_LENGTH = Variant._meta.get_field("sku").max_length
MAX_VARIANT_NAME_LENGTH = Variant._meta.get_field("name").max_length
MAX_CATEGORY_NAME_LENGTH = Category._meta.get_field("name").max_length
MAX_ALT_LENGTH = ProductImage._meta.get_field("alt").max_length
MAX_COUNT = 2**31 - 1  # stock and thresholds are 32-bit integer columns
MAX_PRICE = Decimal("1e10")  # 12 digits, 2 of them decimals
MAX_WEIGHT_GRAMS = 10_000_000  # ten tonnes: anything above is a typo, not a parcel


@dataclass(frozen=True)
class StockFigure:
    """The stock a catalog file gives a variant, for the stock app to set; `where` names
    the entry in the file."""

    variant_id: int
    on_hand: int
    low_stock_threshold: int | None
    where: str


@dataclass
class Upserted:
    """What an import did to one kind of row: created, updated, or kept as the shop had it
    (only_new: the row exists, so staff's version stays)."""

    created: int = 0
    updated: int = 0
    kept: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.kept

    def describe(self, label: str) -> str:
        """"3 shipping zones (2 created, 1 updated)"."""
        kept = f", {self.kept} kept" if self.kept else ""
        return f"{self.total} {label} ({self.created} created, {self.updated} updated{kept})"


@dataclass
class ImportResult:
    products_created: int = 0
    products_updated: int = 0
    variants_created: int = 0
    variants_updated: int = 0
    stock_movements: int = 0
    skus: list[str] = field(default_factory=list)
    stock: list[StockFigure] = field(default_factory=list)  # what to set, in file order
    images_added: int = 0
    images_removed: int = 0
    # The file's other sections, by what their rows are called ("tax rates"), in file order.
    sections: dict[str, Upserted] = field(default_factory=dict)


def fail(where: str, message: str) -> NoReturn:
    raise InvalidInput(f"{where}: {message}", details={where: [message]})


def _number_range(minimum: Decimal | int, maximum: Decimal | int | None, *, above_minimum: bool) -> str:
    if maximum is None:
        return f"more than {minimum}" if above_minimum else f"of {minimum} or more"
    if above_minimum:
        return f"more than {minimum} and at most {maximum}"
    return f"from {minimum} to {maximum}"


def decimal_field(
    value: Any,
    where: str,
    *,
    minimum: Decimal = Decimal(0),
    maximum: Decimal | None = None,
    above_minimum: bool = False,
    example: str = "19.99",
) -> Decimal:
    """An amount of a catalog file (a USD price, a percentage) with at most 2 decimals,
    as the columns store it. Text or a whole number, never a JSON float: a float is a
    binary fraction, and "19.99" must stay exactly 19.99. `maximum` is inclusive; without
    one, the column's limit applies."""
    try:
        amount = Decimal(str(value)) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    except InvalidOperation:
        amount = None
    if amount is not None and amount.is_finite() and amount >= MAX_PRICE and (maximum is None or maximum >= MAX_PRICE):
        fail(where, f"must be less than {MAX_PRICE:f}")
    if (
        amount is None
        or not amount.is_finite()
        or (amount <= minimum if above_minimum else amount < minimum)
        or (maximum is not None and amount > maximum)
        or amount != amount.quantize(Decimal("0.01"))  # last: in range, so it cannot overflow
    ):
        fail(where, f'must be a decimal string {_number_range(minimum, maximum, above_minimum=above_minimum)} with at most 2 decimals, like "{example}"')
    return amount


def whole_number(value: Any, where: str, *, minimum: int = 0, maximum: int = MAX_COUNT) -> int:
    """A count of a catalog file (stock, days, grams, uses): a JSON integer, not text and
    not true/false (which Python counts as 1 and 0)."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        limits = f"of {minimum} or more" if maximum == MAX_COUNT else f"from {minimum} to {maximum:,}"
        fail(where, f"must be a whole number {limits}")
    return value


def text_field(value: Any, where: str, *, max_length: int) -> str:
    """Required text of a catalog file, without its surrounding spaces."""
    if not isinstance(value, str) or not value.strip():
        fail(where, "is required")
    if len(value.strip()) > max_length:
        fail(where, f"must be at most {max_length} characters")
    return value.strip()


def country_field(value: Any, where: str) -> str:
    """A real ISO 3166 alpha-2 country code, in capitals as addresses store it."""
    if not isinstance(value, str) or value != value.upper() or not countries.name(value):
        fail(where, f'must be an ISO 3166 country code like "DE", not {value!r}')
    return value


def no_nul(value: Any, where: str) -> None:
    """PostgreSQL refuses NUL characters in text and JSON: name where one hides, before
    anything is written."""
    found = _nul_path(value, where)
    if found:
        fail(found, "must not contain NUL characters")


def known_keys(entry: dict[str, Any], where: str, keys: set[str]) -> None:
    """A key the format does not have is most likely a typo ("free_over" for
    "free_over_usd"): named, rather than silently ignored."""
    unknown = sorted(set(entry) - keys)
    if unknown:
        fail(f"{where}.{unknown[0]}", f"is not a key of this entry (it takes {', '.join(sorted(keys))})")


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


def _image_path(value: Any, where: str, image_dir: Path | None) -> Path:
    """An image entry's file: absolute, or relative to the catalog file's folder; it must
    be a picture browsers show."""
    if not isinstance(value, str) or not value.strip():
        fail(where, "is required: the image file's path, relative to the catalog file's folder or absolute")
    path = Path(value)
    if not path.is_absolute():
        if image_dir is None:
            fail(where, f"{value!r} must be an absolute path here (there is no catalog file to be relative to)")
        path = image_dir / path
    if not path.is_file():
        fail(where, f"{value!r}: no such file ({path})")
    try:
        with path.open("rb") as handle:
            images.check_image(handle)
    except images.NotAnImage as refusal:
        fail(where, f"{value!r} {refusal}")
    except OSError as exc:
        fail(where, f"{value!r} cannot be read ({exc.strerror or exc})")
    return path


def _validate_images(product: dict[str, Any], where: str, image_dir: Path | None) -> list[Path]:
    """The files of a product's images entry, checked (none when it has no such key)."""
    entries = product.get("images")
    if entries is None:
        return []
    if not isinstance(entries, list):
        fail(f"{where}.images", 'must be a list of {"path", "alt"} objects')
    skus = {v.get("sku") for v in product.get("variants") or [] if isinstance(v, dict)}
    files: list[Path] = []
    for k, entry in enumerate(entries):
        iwhere = f"{where}.images[{k}]"
        if not isinstance(entry, dict):
            fail(iwhere, 'must be an object like {"path": "shirt.jpg", "alt": "Linen shirt, front"}')
        known_keys(entry, iwhere, {"path", "alt", "variant"})
        files.append(_image_path(entry.get("path"), f"{iwhere}.path", image_dir))
        alt = entry.get("alt")
        if alt is not None and (not isinstance(alt, str) or len(alt) > MAX_ALT_LENGTH):
            fail(f"{iwhere}.alt", f"must be text of at most {MAX_ALT_LENGTH} characters")
        variant = entry.get("variant")
        if variant is not None and variant not in skus:
            fail(f"{iwhere}.variant", f"must be the SKU of one of this product's variants, not {variant!r}")
    return files


def _validate(data: Any, image_dir: Path | None = None) -> tuple[list[dict[str, Any]], list[list[Path]]]:
    """Check the whole file before writing anything; the first bad entry is named. Returns
    the products and each one's image files."""
    if not isinstance(data, dict) or not isinstance(data.get("products"), list):
        fail("file", 'must be an object with a "products" list')
    no_nul(data["products"], "products")
    seen_skus: set[str] = set()
    seen_slugs: set[str] = set()
    image_files: list[list[Path]] = []
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
        text_field(product.get("name"), f"{where}.name", max_length=MAX_NAME_LENGTH)
        for key in ("description", "category"):
            if key in product and product[key] is not None and not isinstance(product[key], str):
                fail(f"{where}.{key}", "must be text")
        category = product.get("category")
        if category and (not slugify(category) or len(category) > MAX_CATEGORY_NAME_LENGTH):
            fail(f"{where}.category", f"must be a name of at most {MAX_CATEGORY_NAME_LENGTH} characters with letters or digits")
        if product.get("weight_grams") is not None:
            whole_number(product["weight_grams"], f"{where}.weight_grams", maximum=MAX_WEIGHT_GRAMS)
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
            decimal_field(variant.get("price_usd"), f"{vwhere}.price_usd")
            whole_number(variant.get("stock"), f"{vwhere}.stock")
            if variant.get("low_stock_threshold") is not None:
                whole_number(variant["low_stock_threshold"], f"{vwhere}.low_stock_threshold")
            if variant.get("weight_grams") is not None:
                whole_number(variant["weight_grams"], f"{vwhere}.weight_grams", maximum=MAX_WEIGHT_GRAMS)
            if "attributes" in variant and not isinstance(variant["attributes"], dict):
                fail(f"{vwhere}.attributes", "must be an object")
            if "name" in variant and variant["name"] is not None and (
                not isinstance(variant["name"], str) or len(variant["name"]) > MAX_VARIANT_NAME_LENGTH
            ):
                fail(f"{vwhere}.name", f"must be text of at most {MAX_VARIANT_NAME_LENGTH} characters")
        image_files.append(_validate_images(product, where, image_dir))
    return data["products"], image_files


def import_products(
    data: Any, *, only_new: bool = False, image_dir: Path | None = None, written_files: list[str] | None = None
) -> ImportResult:
    """The catalog's part of a catalog file (checkout.imports.import_catalog does the
    whole file): upsert products and variants by slug and SKU, and list the stock figures
    the file gives each variant for the inventory to set (result.stock). The whole file is
    checked first: any bad entry raises InvalidInput naming it and nothing is written.
    Catalog rows are written with plain UPDATEs, which do not block a checkout's
    foreign-key checks on the variant.

    only_new: add what the shop does not have yet and leave existing products and variants
    (and their stock: they are not listed) exactly as staff left them (the demo seed).

    weight_grams (of a product: its variants' that give none) is written only when the
    entry has the key, and null clears it: a file from before weights existed does not
    wipe the weights staff have entered since.

    images (a list of {"path", "alt", "variant"}): when the entry has the key, the
    product's pictures become the listed ones in that order (a file already stored for
    the product, by content, is kept; pictures not listed are removed). Paths are relative
    to image_dir (the catalog file's folder) or absolute. Every storage name written is
    appended to written_files, for the caller to delete if its transaction fails.
    """
    products, image_files = _validate(data, image_dir)
    result = ImportResult()
    written = written_files if written_files is not None else []
    with transaction.atomic():
        for i, entry in enumerate(products):
            product = Product.objects.filter(slug=entry["slug"]).first()
            # only_new: the pictures of a product the shop has are staff's, like the rest.
            skip_images = product is not None and only_new
            if product is not None and only_new:
                pass
            else:
                category = None
                if entry.get("category"):
                    category, _ = Category.objects.get_or_create(
                        slug=slugify(entry["category"]), defaults={"name": entry["category"]}
                    )
                fields = {"name": entry["name"].strip(), "description": entry.get("description") or "", "category": category}
                if "weight_grams" in entry:
                    fields["weight_grams"] = entry["weight_grams"]
                if product is None:
                    product = Product.objects.create(slug=entry["slug"], **fields)
                    result.products_created += 1
                else:
                    Product.objects.filter(pk=product.pk).update(**fields)
                    result.products_updated += 1
            variant_ids: dict[str, int] = {}
            for position, v in enumerate(entry["variants"]):
                existing = Variant.objects.filter(sku=v["sku"]).first()
                vwhere = f"products[{i}] ({product.slug}).variants[{position}] ({v['sku']})"
                if existing is not None and existing.product_id != product.pk:
                    # A SKU moving to another product would corrupt old carts' snapshots.
                    fail(f"{vwhere}.sku", f"already belongs to product {existing.product.slug!r}")
                result.skus.append(v["sku"])
                if existing is not None:
                    variant_ids[v["sku"]] = existing.pk
                if existing is not None and only_new:
                    continue
                fields = {
                    "name": v.get("name") or "",
                    "attributes": v.get("attributes") or {},
                    "price": Money(Decimal(str(v["price_usd"])), "USD"),
                    "position": position,
                    "is_active": True,
                }
                if "weight_grams" in v:
                    fields["weight_grams"] = v["weight_grams"]
                if existing is None:
                    variant_id = Variant.objects.create(product=product, sku=v["sku"], **fields).pk
                    variant_ids[v["sku"]] = variant_id
                    result.variants_created += 1
                else:
                    Variant.objects.filter(pk=existing.pk).update(**fields)
                    variant_id = existing.pk
                    result.variants_updated += 1
                result.stock.append(StockFigure(variant_id, v["stock"], v.get("low_stock_threshold"), vwhere))
            if entry.get("images") is not None and not skip_images:
                _import_images(product, entry["images"], image_files[i], variant_ids, result, written)
    return result


def _import_images(
    product: Product,
    entries: list[dict[str, Any]],
    files: list[Path],
    variant_ids: dict[str, int],
    result: ImportResult,
    written: list[str],
) -> None:
    """Make the product's pictures the listed ones, in order (see import_products)."""
    current = {image.image.name: image for image in ProductImage.objects.filter(product=product)}
    kept: set[int] = set()
    for position, (entry, path) in enumerate(zip(entries, files, strict=True)):
        name = images.content_name(path)
        fields = {"alt": (entry.get("alt") or "").strip(), "variant_id": variant_ids.get(entry.get("variant")), "position": position}
        image = current.get(f"{images.upload_folder(product)}{name}")
        if image is not None and image.pk not in kept:
            ProductImage.objects.filter(pk=image.pk).update(**fields)
            kept.add(image.pk)
            continue
        with path.open("rb") as handle:
            image, names = images.add_image(product=product, file=File(handle), name=name, **fields)
        written.extend(names)
        kept.add(image.pk)
        result.images_added += 1
    removed = [image for image in current.values() if image.pk not in kept]
    if removed:
        gone = [name for image in removed for name in images.stored_names(image)]
        ProductImage.objects.filter(pk__in=[image.pk for image in removed]).delete()
        transaction.on_commit(lambda: images.delete_files(gone))
        result.images_removed += len(removed)



def record_sales(quantities: dict[int, int]) -> None:
    """Count units sold (variant id -> quantity) toward each product's `units_sold`, the
    best-selling order. Called once an order is paid, after its transaction commits: one
    short UPDATE per product, in id order, so a sale never holds a product row for the
    rest of a checkout and two sales never wait on each other's rows."""
    per_product: dict[int, int] = {}
    for product_id, variant_id in Variant.objects.filter(pk__in=list(quantities)).values_list("product_id", "pk"):
        per_product[product_id] = per_product.get(product_id, 0) + quantities[variant_id]
    for product_id in sorted(per_product):
        if per_product[product_id] > 0:
            Product.objects.filter(pk=product_id).update(units_sold=F("units_sold") + per_product[product_id])
