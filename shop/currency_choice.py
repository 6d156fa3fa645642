"""Which currency a shopper sees. Issue 3 adds Accept-Language and the user's choice."""
from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

SESSION_KEY = "currency"


def shopper_currency(request: HttpRequest) -> str:
    code = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    return code if code in settings.CURRENCIES else settings.DEFAULT_CURRENCY
