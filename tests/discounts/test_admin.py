"""Discount codes in the admin: what each gives written readably, its uses counted as the
limit counts them (committed, and reservations still live), its recent uses read-only
with their orders; the form's refusals next to their fields; codes saved upper-case; a
used code fixed and never deleted; view-only staff change nothing."""
from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from discounts.models import DiscountCode, DiscountUse

Kind = DiscountCode.Kind
Status = DiscountUse.Status
LIST = "admin:discounts_discountcode_changelist"
ADD = "admin:discounts_discountcode_add"


def change_url(code: DiscountCode) -> str:
    return reverse("admin:discounts_discountcode_change", args=[code.pk])


def make_use(code: DiscountCode, status: str, *, email: str = "ada@example.com", expires_in: int | None = 300, order_id=None):
    expires_at = timezone.now() + timedelta(seconds=expires_in) if expires_in is not None else None
    return DiscountUse.objects.create(
        code=code, holder_id=uuid.uuid4(), email=email, status=status, expires_at=expires_at, order_id=order_id
    )


@pytest.fixture
def codes(db):
    return {
        "percent": DiscountCode.objects.create(code="SPRING10", kind=Kind.PERCENT, value=Decimal("10.00"), usage_limit=5),
        "fixed": DiscountCode.objects.create(
            code="TAKE15", kind=Kind.FIXED, value=Decimal("15.00"), min_subtotal_usd=Decimal("50.00"), per_customer_limit=1
        ),
        "shipping": DiscountCode.objects.create(code="SHIPFREE", kind=Kind.FREE_SHIPPING),
    }


@pytest.fixture
def used(codes):
    """SPRING10 (limit 5): 2 committed, 1 reserved and live, 1 reserved but lapsed, 1 released."""
    code = codes["percent"]
    make_use(code, Status.COMMITTED, email="one@example.com", expires_in=None)
    make_use(code, Status.COMMITTED, email="two@example.com", expires_in=None)
    make_use(code, Status.RESERVED, email="live@example.com", expires_in=300)
    make_use(code, Status.RESERVED, email="lapsed@example.com", expires_in=-60)
    make_use(code, Status.RELEASED, email="gone@example.com", expires_in=-600)
    return code


@pytest.fixture
def view_only(db):
    user = get_user_model().objects.create_user("viewer", "viewer@example.com", "pw-viewer-1", is_staff=True)
    for codename in ("view_discountcode", "view_discountuse"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    client.force_login(user)
    return client


def code_data(**changes) -> dict:
    """What the code form posts (dates as the admin's split date and time inputs)."""
    data = {
        "code": "summer20", "kind": Kind.PERCENT, "value": "20", "is_active": "on", "min_subtotal_usd": "",
        "starts_at_0": "", "starts_at_1": "", "ends_at_0": "", "ends_at_1": "", "usage_limit": "", "per_customer_limit": "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def errors(response) -> dict:
    return response.context["adminform"].form.errors


# --- pages --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [LIST, ADD, "admin:discounts_discountuse_changelist"])
def test_list_and_add_pages_load_for_a_superuser(admin_client, used, name):
    assert admin_client.get(reverse(name)).status_code == 200


def test_the_change_pages_load_for_a_superuser(admin_client, used):
    assert admin_client.get(change_url(used)).status_code == 200
    use = used.uses.first()
    assert admin_client.get(reverse("admin:discounts_discountuse_change", args=[use.pk])).status_code == 200


def test_the_list_writes_what_each_code_gives(admin_client, codes):
    response = admin_client.get(reverse(LIST))

    assertContains(response, "<td class=\"field-value_display\">10%</td>", html=True)
    assertContains(response, "<td class=\"field-value_display\">$15.00 off</td>", html=True)
    assertContains(response, "<td class=\"field-value_display\">Free shipping</td>", html=True)
    assertContains(response, "<td class=\"field-minimum\">$50.00</td>", html=True)
    assertContains(response, "<td class=\"field-validity\">always</td>", html=True, count=3)


def test_uses_are_counted_as_the_limit_counts_them(admin_client, used):
    listing = admin_client.get(reverse(LIST))
    page = admin_client.get(change_url(used))

    row = next(code for code in listing.context["cl"].result_list if code.pk == used.pk)
    assert (row.used, row.reserved_now) == (2, 1)
    assertContains(listing, '<td class="field-uses_display">2 / 5<br><span class="quiet">1\u00a0reserved</span></td>', html=True)
    assertContains(page, "2 / 5 used, 1 reserved (2 left)")


def test_the_code_page_shows_its_uses_read_only_with_their_orders(admin_client, used, shop_world):
    order = shop_world["order"]
    make_use(used, Status.COMMITTED, email="buyer@example.com", expires_in=None, order_id=order.pk)

    page = admin_client.get(change_url(used))

    for text in ("buyer@example.com", "live@example.com", "Reserved until", "Reserved, lapsed", "Released", "Committed"):
        assertContains(page, text)
    assertContains(page, f'<a href="{reverse("admin:orders_order_change", args=[order.pk])}">{order.number}</a>', html=True)
    assert page.context["inline_admin_formsets"] == []  # a table, not a form: nothing to add or edit


def test_the_uses_list_is_read_only_and_links_orders_by_number(admin_client, used, shop_world):
    order = shop_world["order"]
    use = make_use(used, Status.COMMITTED, email="buyer@example.com", expires_in=None, order_id=order.pk)
    url = reverse("admin:discounts_discountuse_changelist")

    listing = admin_client.get(url, {"code__id__exact": used.pk})
    found = admin_client.get(url, {"q": order.number})

    assert listing.context["cl"].result_count == 6
    assertContains(listing, f'<a href="{reverse("admin:orders_order_change", args=[order.pk])}">{order.number}</a>', html=True)
    assert [row.pk for row in found.context["cl"].result_list] == [use.pk]
    assert admin_client.get(reverse("admin:discounts_discountuse_add")).status_code == 403
    assert admin_client.post(reverse("admin:discounts_discountuse_delete", args=[use.pk]), {"post": "yes"}).status_code == 403
    assert admin_client.post(
        reverse("admin:discounts_discountuse_change", args=[use.pk]), {"status": Status.RELEASED}
    ).status_code == 403
    assert DiscountUse.objects.get(pk=use.pk).status == Status.COMMITTED


@pytest.mark.parametrize(
    "validity,expected",
    [("current", ["NOW", "OPEN"]), ("scheduled", ["LATER"]), ("expired", ["PAST"])],
)
def test_codes_are_filtered_by_where_their_dates_put_them(admin_client, db, validity, expected):
    now = timezone.now()
    DiscountCode.objects.create(code="OPEN", kind=Kind.FREE_SHIPPING)
    DiscountCode.objects.create(code="NOW", kind=Kind.FREE_SHIPPING, starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1))
    DiscountCode.objects.create(code="LATER", kind=Kind.FREE_SHIPPING, starts_at=now + timedelta(days=1))
    DiscountCode.objects.create(code="PAST", kind=Kind.FREE_SHIPPING, ends_at=now - timedelta(seconds=1))

    response = admin_client.get(reverse(LIST), {"validity": validity})

    assert [code.code for code in response.context["cl"].result_list] == expected


def test_codes_are_found_by_their_text_in_any_case(admin_client, codes):
    response = admin_client.get(reverse(LIST), {"q": "spring"})

    assert [code.code for code in response.context["cl"].result_list] == ["SPRING10"]


# --- the form -----------------------------------------------------------------------------


def test_a_code_is_saved_upper_case(admin_client, db):
    response = admin_client.post(reverse(ADD), code_data(code="  summer20 "))

    assert response.status_code == 302
    assert DiscountCode.objects.get().code == "SUMMER20"


def test_a_code_differing_only_in_case_from_another_is_refused(admin_client, codes):
    response = admin_client.post(reverse(ADD), code_data(code="spring10"))

    assert "code" in errors(response)
    assert DiscountCode.objects.filter(code="SPRING10").count() == 1


@pytest.mark.parametrize(
    "changes,field,message",
    [
        ({"value": "150"}, "value", "A percentage is more than 0 and at most 100."),
        ({"value": "0"}, "value", "A percentage is more than 0 and at most 100."),
        ({"value": ""}, "value", "A percentage needs a value: 10 for 10% off."),
        ({"kind": Kind.FIXED, "value": ""}, "value", "A fixed amount needs a value in USD: 15 for $15.00 off."),
        ({"kind": Kind.FREE_SHIPPING, "value": "5"}, "value", "Free shipping takes no value: leave it empty."),
        (
            {"starts_at_0": "2025-06-01", "starts_at_1": "00:00", "ends_at_0": "2025-05-01", "ends_at_1": "00:00"},
            "ends_at", "The code must end after it starts.",
        ),
        ({"code": "SUMMER 20"}, "code", "A code has no spaces: shoppers type it as one word."),
    ],
)
def test_a_code_the_form_refuses_is_refused_next_to_its_field(admin_client, db, changes, field, message):
    response = admin_client.post(reverse(ADD), code_data(**changes))

    assert response.status_code == 200
    assert errors(response)[field] == [message]
    assert not response.context["adminform"].form.non_field_errors()
    assert not DiscountCode.objects.exists()


def test_free_shipping_and_fixed_amounts_are_saved(admin_client, db):
    assert admin_client.post(reverse(ADD), code_data(code="FREESHIP", kind=Kind.FREE_SHIPPING, value="")).status_code == 302
    assert admin_client.post(reverse(ADD), code_data(code="TAKE5", kind=Kind.FIXED, value="5")).status_code == 302

    assert dict(DiscountCode.objects.values_list("code", "value")) == {"FREESHIP": None, "TAKE5": Decimal("5.00")}


# --- used codes -----------------------------------------------------------------------------


def test_a_used_code_cannot_be_deleted_and_its_text_is_fixed(admin_client, used):
    assert admin_client.get(reverse("admin:discounts_discountcode_delete", args=[used.pk])).status_code == 403

    response = admin_client.post(change_url(used), code_data(code="RENAMED", value="12", usage_limit="5"))

    assert response.status_code == 302
    used.refresh_from_db()
    assert (used.code, used.value) == ("SPRING10", Decimal("12.00"))


def test_deleting_used_codes_from_the_list_is_refused(admin_client, used, codes):
    response = admin_client.post(
        reverse(LIST), {"action": "delete_selected", "_selected_action": [used.pk, codes["shipping"].pk], "post": "yes"}
    )

    assert response.status_code == 200  # the confirmation page, naming what protects it
    assertContains(response, "SPRING10: used 5 time(s); deactivate it instead")
    assert DiscountCode.objects.filter(pk=used.pk).exists()


def test_an_unused_code_may_be_deleted(admin_client, codes):
    code = codes["shipping"]

    response = admin_client.post(reverse("admin:discounts_discountcode_delete", args=[code.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not DiscountCode.objects.filter(pk=code.pk).exists()


def test_staff_deactivate_codes_from_the_list(admin_client, codes):
    response = admin_client.post(reverse(LIST), {"action": "deactivate", "_selected_action": [codes["percent"].pk]})

    assert response.status_code == 302
    assert dict(DiscountCode.objects.values_list("code", "is_active")) == {"SPRING10": False, "TAKE15": True, "SHIPFREE": True}


# --- view-only staff ------------------------------------------------------------------------


def test_view_only_staff_see_codes_and_uses_but_change_nothing(view_only, used):
    listing = view_only.get(reverse(LIST))
    page = view_only.get(change_url(used))

    assert listing.status_code == 200
    assertNotContains(listing, 'value="deactivate"')
    assert page.status_code == 200 and not page.context["has_change_permission"]
    assertContains(page, "2 / 5 used, 1 reserved")
    assert view_only.get(reverse(ADD)).status_code == 403
    view_only.post(reverse(LIST), {"action": "deactivate", "_selected_action": [used.pk]})
    assert view_only.post(change_url(used), code_data(code="SPRING10", value="50")).status_code == 403

    used.refresh_from_db()
    assert (used.is_active, used.value) == (True, Decimal("10.00"))
