"""Rate limits on pages and on checkout starts, counted per client (shop.client_ip) by
django-ratelimit in the default cache: Redis in production, so every web process shares
the counts. With Redis down the counts cannot be kept and nothing is limited (the cache
degrades, shop.cache; RATELIMIT_FAIL_OPEN).

- `limit_reached(group, value, rate)`: count one hit; the seconds to wait when over the
  limit. The services use it (checkout starts, checkout.services).
- PageRateLimitMiddleware: POSTs to the login pages (per client and per account name
  typed, against password guessing), to add-to-cart and to the checkout forms, each
  limit set in settings (docs/operations.md, "Limits and security settings"), answered
  over the limit by the 429 page (templates/429.html) with Retry-After.

A rate is django-ratelimit's "count/period", period s, m, h or d with an optional
multiplier ("10/m", "20/10m", "100/h"); empty turns the limit off.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext, gettext_lazy
from django_ratelimit import ALL
from django_ratelimit.core import get_usage

from shop.client_ip import client_key
from shop.errors import ShopError


class RateLimited(ShopError):
    """Too many requests of one kind from one client: 429 `rate_limited`, Retry-After."""

    code = "rate_limited"
    status = 429
    default_message = gettext_lazy("Too many requests. Try again shortly.")

    def __init__(self, message: str | None = None, *, retry_after: int = 60):
        self.retry_after = max(1, int(retry_after))
        super().__init__(str(message or self.default_message), details={"retry_after": self.retry_after})


def limit_reached(group: str, value: str, rate: str | None) -> int | None:
    """Count one hit of `value` (a client, an account name) in `group`: the seconds until
    its window ends when the hit is over `rate`, else None. An empty rate counts nothing."""
    if not rate:
        return None
    usage = get_usage(None, group=group, key=lambda _group, _request: value, rate=rate, method=ALL, increment=True)
    if usage is None or not usage["should_limit"]:
        return None
    return max(1, int(usage["time_left"]))


def refuse_over_limit(group: str, value: str, rate: str | None, *, message: str | None = None) -> None:
    """limit_reached, raising RateLimited over the limit."""
    wait = limit_reached(group, value, rate)
    if wait is not None:
        raise RateLimited(message, retry_after=wait)


# --- pages -------------------------------------------------------------------------------


def _typed_login(request: HttpRequest) -> str | None:
    """The account name typed into a login form (allauth's `login`, the admin's
    `username`), normalised, so guesses at one account count together from anywhere."""
    typed = request.POST.get("login") or request.POST.get("username") or ""
    typed = typed.strip().lower()[:254]
    return typed or None


@dataclass(frozen=True)
class PageLimit:
    group: str
    setting: str  # the name of the setting that holds the rate
    views: frozenset[str] = frozenset()  # view names ("namespace:name")
    namespaces: frozenset[str] = frozenset()  # every view of these URL namespaces
    key: Callable[[HttpRequest], str | None] = field(default=client_key)

    def applies_to(self, view_name: str, namespace: str) -> bool:
        return view_name in self.views or namespace in self.namespaces

    def wait(self, request: HttpRequest) -> int | None:
        value = self.key(request)
        if value is None:
            return None
        return limit_reached(f"page:{self.group}", value, getattr(settings, self.setting, ""))


LOGIN_VIEWS = frozenset({"account_login", "admin:login"})
PAGE_LIMITS = (
    PageLimit("login", "LOGIN_RATE_LIMIT", views=LOGIN_VIEWS),
    PageLimit("login-account", "LOGIN_ACCOUNT_RATE_LIMIT", views=LOGIN_VIEWS, key=_typed_login),
    PageLimit("add-to-cart", "ADD_TO_CART_RATE_LIMIT", views=frozenset({"cart:add"})),
    PageLimit("checkout-form", "CHECKOUT_FORM_RATE_LIMIT", namespaces=frozenset({"checkout"})),
)


def too_many_requests(request: HttpRequest, retry_after: int | None = None) -> HttpResponse:
    """The 429 page, in the shop's look."""
    minutes = max(1, -(-(retry_after or 60) // 60))
    response = TemplateResponse(request, "429.html", {"retry_minutes": minutes}, status=429)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response.render()


class PageRateLimitMiddleware:
    """Counts each POST to a limited page before its view runs; over the limit the view
    does not run and the 429 page answers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any) -> HttpResponse | None:
        if request.method != "POST" or request.resolver_match is None:
            return None
        view_name = request.resolver_match.view_name or ""
        namespace = request.resolver_match.namespace or ""
        longest = 0
        for limit in PAGE_LIMITS:
            if limit.applies_to(view_name, namespace):
                wait = limit.wait(request)  # every limit counts the hit, even past the first refusal
                longest = max(longest, wait or 0)
        if longest:
            return too_many_requests(request, longest)
        return None


def message_for_checkout_starts() -> str:
    return gettext("You have started checkout too many times in a short while. Please wait a few minutes and try again.")
