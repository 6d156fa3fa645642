"""Reads about a customer: the email addresses they have proved they own."""
from __future__ import annotations

from allauth.account.models import EmailAddress


def verified_emails(*, user_id: int) -> list[str]:
    """The customer's verified email addresses (allauth's records), primary first."""
    return list(
        EmailAddress.objects.filter(user_id=user_id, verified=True)
        .order_by("-primary", "id")
        .values_list("email", flat=True)
    )
