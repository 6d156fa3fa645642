"""Receivers that bring a customer's guest orders into their account (accounts.services):
when an address is verified, when they log in (orders placed as a guest since), and at
sign-up when the address arrives already verified; and one that makes the language they
chose the page language again when they log in. Connected in AccountsConfig.ready()."""
from __future__ import annotations

from typing import Any

from accounts import selectors, services
from accounts.language import use_language


def on_email_confirmed(sender: Any, request: Any = None, email_address: Any = None, **kwargs: Any) -> None:
    if email_address is not None:
        services.link_orders_of_email(email_address=email_address)


def on_user_logged_in(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    if user is not None and user.pk is not None:
        services.link_orders_of_verified_emails(user_id=user.pk)


def on_login_use_saved_language(
    sender: Any, request: Any = None, response: Any = None, user: Any = None, **kwargs: Any
) -> None:
    """allauth's login (its form, an email confirmation that logs in): the language the
    customer chose while signed in, if any, becomes the page language (the language cookie
    on the login's response). With none saved, the browser's choice stays."""
    if request is None or response is None or user is None or user.pk is None:
        return
    language = selectors.saved_language(user_id=user.pk)
    if language:
        use_language(request, response, language)


def on_user_signed_up(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    if user is not None and user.pk is not None:
        services.link_orders_of_verified_emails(user_id=user.pk)


def connect() -> None:
    from allauth.account.signals import email_confirmed, user_signed_up
    from allauth.account.signals import user_logged_in as allauth_user_logged_in
    from django.contrib.auth.signals import user_logged_in

    email_confirmed.connect(on_email_confirmed, dispatch_uid="accounts.link_orders_on_email_confirmed")
    # Django's signal: sent by allauth's login and by any other (the admin's, force_login).
    user_logged_in.connect(on_user_logged_in, dispatch_uid="accounts.link_orders_on_login")
    user_signed_up.connect(on_user_signed_up, dispatch_uid="accounts.link_orders_on_signup")
    # allauth's own signal: it carries the login's response, which gets the language cookie.
    allauth_user_logged_in.connect(on_login_use_saved_language, dispatch_uid="accounts.saved_language_on_login")
