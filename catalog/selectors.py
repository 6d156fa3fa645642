"""Catalog reads: a constant number of queries whatever the page size."""
from __future__ import annotations

from datetime import datetime

from django.db.models import Prefetch, QuerySet

from catalog.models import Category, Product, Variant
from catalog.stock import annotate_availability


def variants_with_availability(*, now: datetime | None = None) -> QuerySet[Variant]:
    return annotate_availability(Variant.objects.filter(is_active=True), now=now).order_by("position", "id")


def product_list(*, category: Category | None = None, now: datetime | None = None) -> QuerySet[Product]:
    """Active products, each with its active variants and their availability prefetched
    (one query for products, one for all their variants)."""
    products = Product.objects.filter(is_active=True).select_related("category")
    if category is not None:
        products = products.filter(category__in=category_and_descendants(category))
    return products.prefetch_related(
        Prefetch("variants", queryset=variants_with_availability(now=now), to_attr="active_variants")
    ).order_by("name", "id")


def product_detail(slug: str, *, now: datetime | None = None) -> Product | None:
    return product_list(now=now).filter(slug=slug).first()


def category_and_descendants(category: Category) -> list[int]:
    ids = [category.pk]
    frontier = [category.pk]
    while frontier:
        frontier = list(Category.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        ids.extend(frontier)
    return ids


def categories() -> QuerySet[Category]:
    return Category.objects.order_by("name")


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
