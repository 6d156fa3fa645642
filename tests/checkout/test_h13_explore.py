import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext


@pytest.mark.parametrize("currency", ["USD", "EUR"])
def test_explore(api, make_variant, make_cart, currency, known_rates):
    shirt = make_variant(on_hand=5)
    cart = make_cart({shirt: 1}, currency=currency)
    for label, call in [
        ("GET", lambda: api.get(f"/api/v1/carts/{cart.pk}/")),
        ("POST checkout", lambda: api.post(f"/api/v1/carts/{cart.pk}/checkout/")),
        ("POST checkout again", lambda: api.post(f"/api/v1/carts/{cart.pk}/checkout/")),
        ("DELETE checkout", lambda: api.delete(f"/api/v1/carts/{cart.pk}/checkout/")),
        ("POST checkout 2", lambda: api.post(f"/api/v1/carts/{cart.pk}/checkout/")),
        ("DELETE checkout 2", lambda: api.delete(f"/api/v1/carts/{cart.pk}/checkout/")),
        ("GET 2", lambda: api.get(f"/api/v1/carts/{cart.pk}/")),
    ]:
        with CaptureQueriesContext(connection) as ctx:
            r = call()
        assert r.status_code == 200, r.content
        print(f"\n=== {currency} {label}: {len(ctx.captured_queries)} queries")
        for q in ctx.captured_queries:
            print("   ", q["sql"][:230])
