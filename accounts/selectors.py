"""Reads about a customer: the email addresses they have proved they own, and the page
language they chose."""
from __future__ import annotations

from allauth.account.models import EmailAddress
from django.conf import settings

from accounts.models import LanguagePreference


def verified_emails(*, user_id: int) -> list[str]:
    """The customer's verified email addresses (allauth's records), primary first."""
    return list(
        EmailAddress.objects.filter(user_id=user_id, verified=True)
        .order_by("-primary", "id")
        .values_list("email", flat=True)
    )


def offered_language(code: object) -> str | None:
    """`code` when it is one of the page languages the shop offers (settings.LANGUAGES,
    exactly as the header's selector posts it), else None."""
    return code if isinstance(code, str) and code in dict(settings.LANGUAGES) else None


def saved_language(*, user_id: int) -> str | None:
    """The page language the customer last chose while signed in, if it is still offered."""
    language = LanguagePreference.objects.filter(user_id=user_id).values_list("language", flat=True).first()
    return offered_language(language)
