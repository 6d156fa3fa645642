"""Order endpoints (filled in by the payment issue)."""
from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from shop.errors import NotFound


class OrderListView(APIView):
    def get(self, request: Request) -> Response:
        if not request.user.is_authenticated:
            return Response([])
        return Response([])


class OrderDetailView(APIView):
    def get(self, request: Request, number: str) -> Response:
        raise NotFound("There is no such order.")
