"""Receivers that bring a customer's guest orders into their account (accounts.services):
when an address is verified, when they log in (orders placed as a guest since), and at
sign-up when the address arrives already verified. Connected in AccountsConfig.ready()."""
from __future__ import annotations

from typing import Any

from accounts import services


def on_email_confirmed(sender: Any, request: Any = None, email_address: Any = None, **kwargs: Any) -> None:
    if email_address is not None:
        services.link_orders_of_email(email_address=email_address)


def on_user_logged_in(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    if user is not None and user.pk is not None:
        services.link_orders_of_verified_emails(user_id=user.pk)


def on_user_signed_up(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    if user is not None and user.pk is not None:
        services.link_orders_of_verified_emails(user_id=user.pk)


def connect() -> None:
    from allauth.account.signals import email_confirmed, user_signed_up
    from django.contrib.auth.signals import user_logged_in

    email_confirmed.connect(on_email_confirmed, dispatch_uid="accounts.link_orders_on_email_confirmed")
    # Django's signal: sent by allauth's login and by any other (the admin's, force_login).
    user_logged_in.connect(on_user_logged_in, dispatch_uid="accounts.link_orders_on_login")
    user_signed_up.connect(on_user_signed_up, dispatch_uid="accounts.link_orders_on_signup")
