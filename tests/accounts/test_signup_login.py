"""Accounts through django-allauth, as a shopper's browser uses them (Django's test client,
emails in the locmem outbox): sign-up by email, the verification link, login by email
(not before verification), a wrong password, password reset and change, email change,
allauth's rate limits, the session cart merged at login, the header's links, and staff
still logging into the admin with their username."""
from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from pytest_django.asserts import assertContains, assertNotContains

from cart.models import Cart
from tests.support.pages import add_to_cart, session_cart

PASSWORD = "linen-shirt-42"
NEW_PASSWORD = "washed-linen-77"


@pytest.fixture
def client(db) -> Client:
    return Client()


def verified_customer(email: str = "ada@example.com", password: str = PASSWORD):
    """A customer whose address is verified, as after following the sign-up link."""
    user = get_user_model().objects.create_user(username=email.split("@")[0], email=email, password=password)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def log_in(client: Client, email: str, password: str = PASSWORD, **extra):
    return client.post("/accounts/login/", {"login": email, "password": password, **extra})


def signed_in_user_id(client: Client) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value else None


def link_in(message, path: str) -> str:
    """The first link in an email's body whose path starts with `path`, as a path."""
    found = re.search(rf"https?://[^/\s]+({re.escape(path)}\S+)", message.body)
    assert found, message.body
    return found.group(1)


def sign_up(client: Client, email: str = "ada@example.com", password: str = PASSWORD):
    return client.post("/accounts/signup/", {"email": email, "password1": password, "password2": password})


# --- sign-up and verification -------------------------------------------------------------


def test_sign_up_by_email_sends_a_verification_link_that_verifies_the_address(client):
    response = sign_up(client)

    assert response.status_code == 302 and response["Location"] == "/accounts/confirm-email/"
    assertContains(client.get(response["Location"]), "Check your email")
    user = get_user_model().objects.get(email="ada@example.com")
    assert user.username  # made by allauth: Django's User needs one
    assert not EmailAddress.objects.get(user=user).verified
    assert signed_in_user_id(client) is None
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ada@example.com"]
    assert message.from_email == "shop@example.com"
    assert not message.subject.startswith("[")  # no site prefix
    link = link_in(message, "/accounts/confirm-email/")

    page = client.get(link)
    assertContains(page, "Yes, verify it")
    assertContains(page, "ada@example.com")
    confirmed = client.post(link)

    assert confirmed.status_code == 302 and confirmed["Location"] == "/accounts/login/"
    address = EmailAddress.objects.get(user=user)
    assert address.verified and address.primary

    logged_in = log_in(client, "ada@example.com")

    assert logged_in.status_code == 302 and logged_in["Location"] == "/account/"
    assert signed_in_user_id(client) == user.pk
    assertContains(client.get("/account/"), "Logged in as ada@example.com")


def test_login_before_verification_is_refused_and_sends_the_link_again(client):
    sign_up(client)
    mail.outbox.clear()
    mail_cooldown_over = Client()  # another browser; allauth resends at most every few minutes per address

    response = log_in(mail_cooldown_over, "ada@example.com")

    assert response.status_code == 302 and response["Location"] == "/accounts/confirm-email/"
    assert signed_in_user_id(mail_cooldown_over) is None
    assert signed_in_user_id(client) is None


def test_an_account_from_before_allauth_verifies_its_address_at_first_login(client):
    user = get_user_model().objects.create_user(username="ada", email="ada@example.com", password=PASSWORD)

    refused = log_in(client, "ada@example.com")

    assert refused.status_code == 302 and refused["Location"] == "/accounts/confirm-email/"
    assert signed_in_user_id(client) is None
    client.post(link_in(mail.outbox[-1], "/accounts/confirm-email/"))
    assert log_in(client, "ada@example.com").status_code == 302
    assert signed_in_user_id(client) == user.pk


def test_login_is_by_email_in_any_letter_case(client):
    user = verified_customer()

    response = log_in(client, "Ada@Example.COM")

    assert response.status_code == 302
    assert signed_in_user_id(client) == user.pk


def test_login_by_username_is_not_offered(client):
    verified_customer()

    response = client.post("/accounts/login/", {"login": "ada", "password": PASSWORD})

    assert response.status_code == 200
    assert signed_in_user_id(client) is None
    assertContains(response, "Enter a valid email address.")


def test_sign_up_form_shows_each_error_next_to_its_field(client):
    response = client.post("/accounts/signup/", {"email": "not-an-email", "password1": PASSWORD, "password2": "other"})

    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'<input[^>]*name="email"[^>]*aria-invalid="true"[^>]*aria-describedby="id_email_error"', html) or \
        re.search(r'<input[^>]*aria-describedby="id_email_error"[^>]*aria-invalid="true"[^>]*name="email"', html)
    assertContains(response, '<p class="field-error" id="id_email_error">Enter a valid email address.</p>', html=True)
    assertContains(response, '<p class="field-error" id="id_password2_error">You must type the same password each time.</p>', html=True)
    assert get_user_model().objects.count() == 0


def test_sign_up_refuses_a_short_password_under_its_field(client):
    response = client.post("/accounts/signup/", {"email": "ada@example.com", "password1": "short", "password2": "short"})

    assertContains(response, '<p class="field-error" id="id_password1_error">This password is too short. It must contain at least 8 characters.</p>', html=True)
    assert get_user_model().objects.count() == 0


def test_sign_up_with_a_taken_address_creates_no_second_account(client):
    verified_customer()

    response = sign_up(client, "ADA@example.com")

    assert response.status_code == 302
    assert get_user_model().objects.count() == 1
    # allauth tells the address's owner instead of the visitor (no enumeration).
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ada@example.com"]


# --- wrong password -------------------------------------------------------------------------


def test_wrong_password_says_so_and_logs_nobody_in(client):
    verified_customer()

    response = log_in(client, "ada@example.com", "not-my-password")

    assert response.status_code == 200
    assertContains(response, "The email address and/or password you specified are not correct.")
    assertContains(response, 'class="form-error" role="alert"')
    assert signed_in_user_id(client) is None


# --- password reset and change ----------------------------------------------------------------


def test_password_reset_end_to_end(client):
    user = verified_customer()

    requested = client.post("/accounts/password/reset/", {"email": "ada@example.com"})

    assert requested.status_code == 302 and requested["Location"] == "/accounts/password/reset/done/"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ada@example.com"]
    link = link_in(mail.outbox[0], "/accounts/password/reset/key/")
    form_page = client.get(link, follow=True)
    assertContains(form_page, 'name="password1"')
    form_url = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link

    changed = client.post(form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert changed.status_code == 302 and changed["Location"] == "/accounts/password/reset/key/done/"
    assert signed_in_user_id(client) is None
    assert log_in(Client(), "ada@example.com", PASSWORD).status_code == 200  # the old one no longer works
    fresh = Client()
    assert log_in(fresh, "ada@example.com", NEW_PASSWORD).status_code == 302
    assert signed_in_user_id(fresh) == user.pk


def test_password_reset_link_works_once(client):
    verified_customer()
    client.post("/accounts/password/reset/", {"email": "ada@example.com"})
    link = link_in(mail.outbox[0], "/accounts/password/reset/key/")
    form_page = client.get(link, follow=True)
    form_url = form_page.redirect_chain[-1][0]
    client.post(form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    again = Client().get(link, follow=True)

    assertContains(again, "This link no longer works")
    assertNotContains(again, 'name="password1"')


def test_password_change_keeps_the_customer_logged_in(client):
    user = verified_customer()
    log_in(client, "ada@example.com")

    response = client.post(
        "/accounts/password/change/", {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )

    assert response.status_code == 302
    assert signed_in_user_id(client) == user.pk  # ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
    assert [m.subject for m in mail.outbox if m.to == ["ada@example.com"]] == ["Password Changed"]  # a notice
    assert client.get("/account/").status_code == 200
    assert log_in(Client(), "ada@example.com", NEW_PASSWORD).status_code == 302


def test_password_change_with_a_wrong_current_password_is_refused(client):
    verified_customer()
    log_in(client, "ada@example.com")

    response = client.post(
        "/accounts/password/change/", {"oldpassword": "guess", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )

    assert response.status_code == 200
    assertContains(response, 'id="id_oldpassword_error"')
    assert log_in(Client(), "ada@example.com", PASSWORD).status_code == 302


# --- email change -----------------------------------------------------------------------------


def test_email_change_adds_an_unverified_address_that_replaces_the_old_once_verified(client):
    user = verified_customer()
    log_in(client, "ada@example.com")
    mail.outbox.clear()

    response = client.post("/accounts/email/", {"action_add": "", "email": "ada@lovelace.example"})

    assert response.status_code == 302
    new = EmailAddress.objects.get(user=user, email="ada@lovelace.example")
    assert not new.verified and not new.primary
    user.refresh_from_db()
    assert user.email == "ada@example.com"  # still the old one until the new one is verified
    page = client.get("/accounts/email/")
    assertContains(page, "ada@lovelace.example")
    assertContains(page, "pending verification")
    assert mail.outbox[-1].to == ["ada@lovelace.example"]

    link = link_in(mail.outbox[-1], "/accounts/confirm-email/")
    client.post(link)

    user.refresh_from_db()
    assert user.email == "ada@lovelace.example"
    assert list(EmailAddress.objects.filter(user=user).values_list("email", "verified", "primary")) == [
        ("ada@lovelace.example", True, True)
    ]


def test_another_accounts_address_can_be_asked_for_but_never_verified(client):
    ada = verified_customer()
    verified_customer("bob@example.com")
    log_in(client, "ada@example.com")
    mail.outbox.clear()

    client.post("/accounts/email/", {"action_add": "", "email": "bob@example.com"})  # allauth reveals nothing
    pending = EmailAddress.objects.get(user=ada, email="bob@example.com")
    assert not pending.verified
    link = link_in(mail.outbox[-1], "/accounts/confirm-email/")  # sent to bob's mailbox

    page = client.get(link)  # even holding it
    client.post(link)

    assertContains(page, "bob@example.com is already verified by a different account.")
    pending.refresh_from_db()
    assert not pending.verified
    ada.refresh_from_db()
    assert ada.email == "ada@example.com"


# --- rate limits (allauth's, in the cache) -------------------------------------------------------


def test_rate_limits_are_on():
    from allauth.account import app_settings

    limits = app_settings.RATE_LIMITS
    assert limits["login"] and limits["login_failed"] and limits["signup"] and limits["reset_password"]


def test_too_many_logins_from_one_address_get_429(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {"login": "3/m/ip"}
    verified_customer()
    for _ in range(3):
        assert log_in(client, "ada@example.com", "wrong").status_code == 200

    response = log_in(client, "ada@example.com", PASSWORD)

    assert response.status_code == 429
    assertContains(response, "Too many attempts", status_code=429)
    assertContains(response, 'class="site-header"', status_code=429)  # in the shop's page
    assert signed_in_user_id(client) is None


def test_too_many_failed_logins_lock_the_address_even_from_another_browser(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "100/m/ip,3/5m/key"}
    verified_customer()
    for _ in range(3):
        log_in(Client(), "ada@example.com", "wrong")

    response = log_in(client, "ada@example.com", PASSWORD)

    assert response.status_code == 200
    assertContains(response, "Too many failed login attempts")
    assert signed_in_user_id(client) is None


# --- the session cart joins the account at login -------------------------------------------------


def test_login_through_allauth_makes_the_session_cart_the_customers(client, shirt_sizes):
    user = verified_customer()
    add_to_cart(client, "linen-shirt", "SHIRT-S", "2")
    cart = session_cart(client)
    assert cart.user_id is None

    log_in(client, "ada@example.com")

    cart.refresh_from_db()
    assert cart.user_id == user.pk and cart.status == Cart.Status.ACTIVE
    assert session_cart(client) == cart
    assertContains(client.get("/cart/"), '<span class="cart-count" aria-hidden="true">2</span>', html=True)


# --- the header ---------------------------------------------------------------------------------


def test_header_offers_log_in_and_sign_up_when_signed_out(client, shirt_sizes):
    response = client.get("/products/linen-shirt/")

    assertContains(response, '<a class="account-link" href="/accounts/login/?next=/products/linen-shirt/">Log in</a>', html=True)
    assertContains(response, '<a class="account-link" href="/accounts/signup/">Sign up</a>', html=True)
    assertNotContains(response, "My account")


def test_header_offers_account_orders_and_log_out_when_signed_in(client, shirt_sizes):
    verified_customer()
    log_in(client, "ada@example.com")

    response = client.get("/products/linen-shirt/")

    assertContains(response, '<a class="account-link" href="/account/">My account</a>', html=True)
    assertContains(response, '<a class="account-link" href="/orders/">My orders</a>', html=True)
    assertContains(response, '<form class="inline-form" method="post" action="/accounts/logout/">')
    assertNotContains(response, ">Sign up<")


def test_log_out_is_a_post_and_ends_the_session(client):
    verified_customer()
    log_in(client, "ada@example.com")

    response = client.post("/accounts/logout/")

    assert response.status_code == 302 and response["Location"] == "/"
    assert signed_in_user_id(client) is None
    assertContains(client.get("/"), ">Log in<")


def test_login_page_is_in_the_shops_look(client):
    response = client.get("/accounts/login/")

    assertContains(response, '<header class="site-header">')
    assertContains(response, '<label for="id_login">Email</label>', html=True)
    assertContains(response, '<label for="id_password">Password</label>', html=True)
    assertContains(response, 'href="/accounts/password/reset/"')
    assertContains(response, 'href="/accounts/signup/"')


# --- staff ------------------------------------------------------------------------------------------


def test_staff_still_log_into_the_admin_with_their_username(client):
    get_user_model().objects.create_superuser(username="boss", email="boss@example.com", password=PASSWORD)

    response = client.post("/admin/login/?next=/admin/", {"username": "boss", "password": PASSWORD})

    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
