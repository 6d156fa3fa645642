"""Catalog reads: a constant number of queries whatever the page size, the number of
results or the number of filter values."""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone as dt_timezone

from django.db import connection
from django.db.models import Count, Exists, F, Min, OuterRef, Prefetch, QuerySet, Subquery, prefetch_related_objects
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone

from catalog import search
from catalog.filters import Listing
from catalog.models import Category, Product, ProductImage, Variant
from catalog.stock import annotate_availability
from currencies.money import converted_from_base_sql
from shop.compiled_queries import CompiledQuery
from shop.request_memo import remembered

# Clothing sizes in the order a shopper expects, ahead of any other value of a facet.
SIZE_ORDER = ["XXS", "XS", "S", "M", "L", "XL", "XXL", "XXXL", "3XL", "4XL"]


def variants_with_availability(*, now: datetime | None = None) -> QuerySet[Variant]:
    return annotate_availability(Variant.objects.filter(is_active=True), now=now).order_by("position", "id")


def with_card_data(products: QuerySet[Product], *, now: datetime | None = None) -> QuerySet[Product]:
    """What a product card and page show, prefetched: one query for all the products'
    active variants with their availability, one for their images."""
    return products.select_related("category").prefetch_related(
        Prefetch("variants", queryset=variants_with_availability(now=now), to_attr="active_variants"),
        "images",  # in position order (ProductImage.Meta): the card's picture, the product's gallery
    )


def variant_pictures(variants: Iterable[Variant]) -> dict[int, ProductImage]:
    """Variant id -> the picture that shows it: its own first picture if it has one, else
    its product's first (position order, as the product card's). One query for all the
    variants; each picture's product is the variant's own (its alt text needs no query)."""
    variants = list(variants)
    if not variants:
        return {}
    products = {variant.product_id: variant.product for variant in variants if Variant.product.is_cached(variant)}
    own: dict[int, ProductImage] = {}
    first: dict[int, ProductImage] = {}
    for image in ProductImage.objects.filter(product_id__in={variant.product_id for variant in variants}):
        if image.product_id in products:
            ProductImage.product.field.set_cached_value(image, products[image.product_id])
        first.setdefault(image.product_id, image)
        if image.variant_id is not None:
            own.setdefault(image.variant_id, image)
    pictures = {}
    for variant in variants:
        picture = own.get(variant.pk) or first.get(variant.product_id)
        if picture is not None:
            pictures[variant.pk] = picture
    return pictures


def product_list(*, category: Category | None = None, now: datetime | None = None) -> QuerySet[Product]:
    """Active products, each with its active variants and their availability prefetched
    (one query for products, one for all their variants)."""
    products = Product.objects.filter(is_active=True)
    if category is not None:
        products = products.filter(category__in=category_and_descendants(category))
    return with_card_data(products, now=now).order_by("name_sort", "id")


# A product page's variants with their stock: the page's costliest query to build and
# compile, so compiled once per process (shop/compiled_queries.py).
_PRODUCT_VARIANTS = CompiledQuery(
    lambda product_id, now: variants_with_availability(now=now).filter(product_id=product_id),
    product_id=-790_301_001,
    now=datetime(1901, 2, 3, 4, 5, 6, 789_012, tzinfo=dt_timezone.utc),
)


def product_detail(slug: str, *, now: datetime | None = None) -> Product | None:
    """An active product with what its page shows, as with_card_data gives it: its
    category, its active variants with their availability (`active_variants`) and its
    pictures (`images`)."""
    product = Product.objects.filter(is_active=True, slug=slug).select_related("category").first()
    if product is None:
        return None
    product.active_variants = list(_PRODUCT_VARIANTS.raw(product_id=product.pk, now=now or timezone.now()))
    for variant in product.active_variants:
        Variant.product.field.set_cached_value(variant, product)
    prefetch_related_objects([product], "images")
    return product


# --- search, sort and filters (docs/api.md, Catalog) ----------------------------------


@dataclass(frozen=True)
class _Scope:
    """A listing with what every query of it shares, worked out once."""

    listing: Listing
    category_ids: list[int] | None
    text: search.SearchQuery | search.FuzzyScore | None
    fuzzy: bool
    now: datetime | None


@dataclass(frozen=True)
class ProductSearch:
    """The products of a listing, in its order, with card data. `fuzzy`: no product had
    the words typed, these have similar ones."""

    products: QuerySet[Product]
    fuzzy: bool
    scope: _Scope


@dataclass(frozen=True)
class FacetValue:
    value: str
    count: int
    chosen: bool


@dataclass(frozen=True)
class AttributeFacet:
    name: str
    values: list[FacetValue]


@dataclass(frozen=True)
class CategoryCount:
    category: Category
    count: int


@dataclass(frozen=True)
class Facets:
    """Each filter value with the number of products it would show, given the search,
    category and the other filters (values of one attribute add up: any of them)."""

    attributes: list[AttributeFacet] = field(default_factory=list)
    in_stock: int = 0
    categories: list[CategoryCount] = field(default_factory=list)


def search_products(listing: Listing, *, now: datetime | None = None) -> ProductSearch:
    """The listing's products: active, in its category (and subcategories), matching its
    words (full text; if nothing does, similar words), with a variant that has the chosen
    attribute values, price range and stock; in the listing's order."""
    category_ids = category_and_descendants(listing.category) if listing.category is not None else None
    text: search.SearchQuery | search.FuzzyScore | None = None
    fuzzy = False
    if listing.q:
        text = search.text_query(listing.q)
        scoped = _in_categories(Product.objects.filter(is_active=True), category_ids)
        if text is not None and not scoped.filter(search.matches_text(text)).exists():
            text, fuzzy = search.fuzzy_score(listing.q), True
    scope = _Scope(listing, category_ids, text, fuzzy, now)
    products = _ordered(_products(scope), listing, has_text=text is not None)
    return ProductSearch(with_card_data(products, now=now), fuzzy, scope)


def facets(found: ProductSearch) -> Facets:
    """The counts beside each filter value: two queries whatever the number of values (and
    the categories, read once per request)."""
    scope = found.scope
    if scope.listing.q and scope.text is None:
        return Facets()
    by_category, in_stock = _counts_by_category(scope)
    return Facets(
        attributes=_attribute_facets(scope),
        in_stock=in_stock,
        categories=_category_counts(by_category),
    )


def _in_categories(products: QuerySet[Product], category_ids: list[int] | None) -> QuerySet[Product]:
    return products if category_ids is None else products.filter(category__in=category_ids)


def _products(
    scope: _Scope, *, with_category: bool = True, variant_filters: bool = True, in_stock: bool | None = None
) -> QuerySet[Product]:
    listing = scope.listing
    products = Product.objects.filter(is_active=True)
    if with_category:
        products = _in_categories(products, scope.category_ids)
    if listing.q:
        if scope.text is None:  # nothing but punctuation: nothing matches
            return products.none()
        if isinstance(scope.text, search.FuzzyScore):
            products = products.filter(search.matches_text(scope.text.query)).alias(text_score=scope.text)
        else:
            products = products.filter(search.matches_text(scope.text)).alias(text_score=search.text_rank(scope.text))
    stock = listing.in_stock if in_stock is None else in_stock
    if variant_filters and (listing.has_variant_filters or stock):
        variants = _variants(scope, in_stock=stock)
        products = products.filter(Exists(variants.filter(product=OuterRef("pk"))))
    return products


def _variants(scope: _Scope, *, in_stock: bool, attributes: bool = True) -> QuerySet[Variant]:
    """Active variants with the listing's attribute values, in its price range (as the
    shopper sees prices), and in stock if asked."""
    listing = scope.listing
    variants = Variant.objects.filter(is_active=True)
    if attributes:
        for index, (name, values) in enumerate(listing.attributes):
            key = f"attribute_{index}"
            variants = variants.alias(**{key: KeyTextTransform(name, "attributes")}).filter(**{f"{key}__in": values})
    if listing.price_min is not None or listing.price_max is not None:
        variants = variants.alias(shown_price=_shown_price(listing))
        if listing.price_min is not None:
            variants = variants.filter(shown_price__gte=listing.price_min)
        if listing.price_max is not None:
            variants = variants.filter(shown_price__lte=listing.price_max)
    if in_stock:
        variants = annotate_availability(variants, now=scope.now).filter(available__gt=0)
    return variants


def _shown_price(listing: Listing):  # type: ignore[no-untyped-def]
    """A variant's price as the shopper sees it (currencies.money.convert_from_base, in SQL)."""
    return converted_from_base_sql("price", listing.currency, listing.rate)


def _ordered(products: QuerySet[Product], listing: Listing, *, has_text: bool) -> QuerySet[Product]:
    by_name = ("name_sort", "id")
    order = listing.order
    if order == "relevance" and has_text:
        return products.order_by(F("text_score").desc(nulls_last=True), *by_name)
    if order in ("price", "-price"):
        lowest = (
            Variant.objects.filter(product=OuterRef("pk"), is_active=True)
            .order_by()
            .values("product")
            .annotate(lowest=Min("price"))
            .values("lowest")
        )
        products = products.alias(lowest_price=Subquery(lowest))
        price = F("lowest_price").asc(nulls_last=True) if order == "price" else F("lowest_price").desc(nulls_last=True)
        return products.order_by(price, *by_name)
    if order == "newest":
        return products.order_by("-created_at", "-id")
    if order == "bestselling":
        return products.order_by("-units_sold", *by_name)
    return products.order_by(*by_name)


def _attribute_facets(scope: _Scope) -> list[AttributeFacet]:
    """Products per attribute value, in one query: for a value of attribute N, the
    products with a variant that has it and every chosen value of the other attributes
    (and is in the price range and stock asked for)."""
    listing = scope.listing
    variants = _variants(scope, in_stock=listing.in_stock, attributes=False).filter(
        product__in=_products(scope, variant_filters=False).values("pk")
    )
    inner_sql, inner_params = variants.order_by().values("product_id", "attributes").query.sql_with_params()
    conditions, params = [], list(inner_params)
    for name, values in listing.attributes:
        conditions.append("AND (attribute.key = %s OR v.attributes ->> %s = ANY(%s))")
        params.extend([name, name, list(values)])
    sql = f"""
        SELECT attribute.key, attribute.value, count(DISTINCT v.product_id)
        FROM ({inner_sql}) AS v(product_id, attributes)
        CROSS JOIN LATERAL jsonb_each_text(
            CASE WHEN jsonb_typeof(v.attributes) = 'object' THEN v.attributes ELSE '{{}}'::jsonb END
        ) AS attribute
        WHERE jsonb_typeof(v.attributes -> attribute.key) IN ('string', 'number', 'boolean')
        {' '.join(conditions)}
        GROUP BY attribute.key, attribute.value
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    by_name: dict[str, list[FacetValue]] = defaultdict(list)
    for name, value, count in rows:
        by_name[name].append(FacetValue(value, count, listing.chosen(name, value)))
    # A chosen value no product has any more still shows, with 0, so it can be unticked.
    for name, values in listing.attributes:
        shown = {facet_value.value for facet_value in by_name[name]}
        by_name[name].extend(FacetValue(value, 0, True) for value in values if value not in shown)
    return [AttributeFacet(name, sorted(values, key=_value_order)) for name, values in sorted(by_name.items())]


def _value_order(facet_value: FacetValue) -> tuple[int, int, str]:
    value = facet_value.value
    if value.upper() in SIZE_ORDER:
        return (0, SIZE_ORDER.index(value.upper()), "")
    return (1, 0, natural_key(value))


def natural_key(text: str) -> str:
    """The sort key of catalog_natural_sort_key() (migration 0004), in Python."""
    return "".join(
        part.lstrip("0").rjust(20, "0") if part[0].isdigit() else part.lower() for part in re.findall(r"\d+|\D+", text)
    )


def _counts_by_category(scope: _Scope) -> tuple[dict[int, int], int]:
    """In one query: products per category for the listing without its category, and how
    many of the listing's products (in its category) have a variant in stock that matches
    its filters."""
    in_stock_variants = _variants(scope, in_stock=True).filter(product=OuterRef("pk"))
    rows = (
        _products(scope, with_category=False)
        .order_by()
        .values_list("category_id")
        .annotate(count=Count("id"), in_stock=Count("id", filter=Exists(in_stock_variants)))
    )
    direct: dict[int, int] = {}
    in_stock = 0
    for category_id, count, stocked in rows:
        if category_id is not None:
            direct[category_id] = count
        if scope.category_ids is None or category_id in scope.category_ids:
            in_stock += stocked
    return direct, in_stock


def _category_counts(direct: dict[int, int]) -> list[CategoryCount]:
    """Products per category (`direct`: in each one itself) for the listing without its
    category; a category counts its subcategories' products, as its page lists them."""
    if not direct:
        return []
    everything = {category.pk: category for category in all_categories()}
    parents = {pk: category.parent_id for pk, category in everything.items()}
    totals: dict[int, int] = defaultdict(int)
    for category_id, count in direct.items():
        for ancestor in category_chain(category_id, parents):
            totals[ancestor] += count
    return sorted(
        (CategoryCount(everything[pk], count) for pk, count in totals.items() if pk in everything),
        key=lambda item: natural_key(item.category.name),
    )


# --- categories ------------------------------------------------------------------------


def category_and_descendants(category: Category) -> list[int]:
    ids = [category.pk]
    frontier = [category.pk]
    while frontier:
        frontier = list(Category.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        ids.extend(frontier)
    return ids


def categories() -> QuerySet[Category]:
    return Category.objects.order_by("name")


def all_categories() -> list[Category]:
    """Every category by name, read once per web request (the header's links and the list's
    category counts both need them; shop.request_memo)."""
    return remembered(("catalog.categories",), lambda: list(categories()))


def top_categories() -> list[Category]:
    """The categories without a parent, by name (the header's links)."""
    return [category for category in all_categories() if category.parent_id is None]


def category_parents() -> dict[int, int | None]:
    """Every category's parent id, in one query: tax and discount rules that name a
    category also cover its subcategories."""
    return dict(Category.objects.values_list("pk", "parent_id"))


def category_chain(category_id: int | None, parents: dict[int, int | None]) -> list[int]:
    """The category and its ancestors, nearest first."""
    chain: list[int] = []
    while category_id is not None and category_id not in chain:
        chain.append(category_id)
        category_id = parents.get(category_id)
    return chain
