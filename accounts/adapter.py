"""allauth's adapter, with the shop's answer to "who is the client" (shop.client_ip,
TRUSTED_PROXY_COUNT), so allauth's rate limits count clients as every other limit does."""
from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest

from shop.client_ip import client_ip


class ShopAccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request: HttpRequest) -> str:
        return client_ip(request)
