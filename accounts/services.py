"""Writes about a customer: their guest orders joining their account once they have
proved they own the email address, their name, and the page language they chose."""
from __future__ import annotations

import logging

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.utils.translation import gettext_lazy as _

from accounts import selectors
from accounts.models import LanguagePreference
from orders import services as orders_services
from shop.errors import ShopError

log = logging.getLogger(__name__)


def link_orders_of_email(*, email_address: EmailAddress) -> int:
    """The guest orders placed with a verified address become the account's; an
    unverified address links nothing. Returns how many orders joined."""
    if not email_address.verified or email_address.user_id is None:
        return 0
    linked = orders_services.link_guest_orders(email=email_address.email, user_id=email_address.user_id)
    if linked:
        log.info("linked %d guest order(s) to user %s by a verified email address", linked, email_address.user_id)
    return linked


def link_orders_of_verified_emails(*, user_id: int) -> int:
    """Every guest order placed with one of the customer's verified addresses becomes
    theirs (at login and sign-up: orders placed as a guest since the last visit)."""
    linked = sum(orders_services.link_guest_orders(email=email, user_id=user_id) for email in selectors.verified_emails(user_id=user_id))
    if linked:
        log.info("linked %d guest order(s) to user %s at login", linked, user_id)
    return linked


def update_profile(*, user_id: int, first_name: str, last_name: str) -> AbstractBaseUser:
    """The customer's name, as they want to be greeted."""
    user = get_user_model().objects.get(pk=user_id)
    user.first_name, user.last_name = first_name.strip(), last_name.strip()
    user.save(update_fields=["first_name", "last_name"])
    return user


class UnsupportedLanguage(ShopError):
    code = "unsupported_language"
    status = 400
    default_message = _("Choose one of the languages the shop offers.")


def remember_language(*, user_id: int, language: object) -> str:
    """The customer chose a page language while signed in: kept on their account for the
    next time they sign in (accounts.signals). A language the shop does not offer raises
    UnsupportedLanguage and changes nothing."""
    chosen = selectors.offered_language(language)
    if chosen is None:
        raise UnsupportedLanguage()
    LanguagePreference.objects.update_or_create(user_id=user_id, defaults={"language": chosen})
    return chosen
