"""shop.compiled_queries.CompiledQuery: a queryset compiled once and run with new values
gives what the ORM gives for those values (the product page's variants with their stock,
before and after a reservation runs out), and refuses samples it cannot place."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

import inventory.services as inventory
from catalog import selectors
from catalog.models import Variant
from shop.compiled_queries import CompiledQuery


def _variants(product_id: int, now):
    return selectors.variants_with_availability(now=now).filter(product_id=product_id)


def _as_rows(variants) -> list[tuple]:
    return [(v.pk, v.sku, v.price.amount, str(v.price.currency), v.attributes, v.available, v.low_stock_threshold_now) for v in variants]


def test_it_gives_what_the_orm_gives_for_each_value(make_variant, make_cart):
    shirt_s = make_variant("SHIRT-S", price="30.00", on_hand=5, size="S")
    make_variant("SHIRT-M", price="32.50", on_hand=0, product=shirt_s.product, size="M")
    socks = make_variant("SOCKS", price="8.00", on_hand=3)
    now = timezone.now()
    cart = make_cart({shirt_s: 2})
    inventory.reserve(holder_id=cart.pk, items={shirt_s.pk: 2}, expires_at=now + timedelta(minutes=10), now=now)
    query = CompiledQuery(_variants, product_id=-1_000_001, now=now.replace(year=1901))

    for product_id in (shirt_s.product_id, socks.product_id):
        for moment in (now, now + timedelta(minutes=11)):  # with the hold, then after it ran out
            assert _as_rows(query.raw(product_id=product_id, now=moment)) == _as_rows(_variants(product_id, moment))

    during, after = (
        {v.sku: v.available for v in query.raw(product_id=shirt_s.product_id, now=moment)}
        for moment in (now, now + timedelta(minutes=11))
    )
    assert during == {"SHIRT-S": 3, "SHIRT-M": 0}
    assert after == {"SHIRT-S": 5, "SHIRT-M": 0}


def test_the_product_page_reads_its_variants_with_their_stock(make_variant, make_cart):
    shirt_s = make_variant("SHIRT-S", price="30.00", on_hand=5, size="S")
    now = timezone.now()
    cart = make_cart({shirt_s: 1})
    inventory.reserve(holder_id=cart.pk, items={shirt_s.pk: 1}, expires_at=now + timedelta(minutes=10), now=now)
    Variant.objects.create(product=shirt_s.product, sku="SHIRT-OLD", price=shirt_s.price, is_active=False)

    product = selectors.product_detail(shirt_s.product.slug, now=now)

    assert [(v.sku, v.available, v.product is product) for v in product.active_variants] == [("SHIRT-S", 4, True)]
    assert selectors.product_detail(shirt_s.product.slug, now=now + timedelta(minutes=11)).active_variants[0].available == 5
    assert selectors.product_detail("no-such-product") is None


def test_a_sample_that_is_not_a_parameter_is_refused(db):
    query = CompiledQuery(lambda product_id: Variant.objects.filter(product_id=7), product_id=-1_000_001)

    with pytest.raises(ValueError, match="product_id=-1000001 is not among"):
        query.raw(product_id=7)


def test_two_samples_in_one_parameter_are_refused(db):
    query = CompiledQuery(lambda a, b: Variant.objects.filter(product_id=a), a=-5, b=-5)

    with pytest.raises(ValueError, match="share a parameter"):
        query.raw(a=1, b=1)


def test_it_takes_exactly_its_values(make_variant):
    query = CompiledQuery(_variants, product_id=-1_000_001, now=timezone.now().replace(year=1901))

    with pytest.raises(TypeError, match="takes exactly"):
        query.raw(product_id=1)
