from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.api_schema import ProductPageSerializer, ProductSerializer
from catalog.models import Product
from catalog.selectors import product_detail, product_list
from catalog.stock import stock_status
from currencies import rates
from currencies.api import query_currency
from shop.api_base import ShopAPIView
from shop.api_schema import error_responses
from shop.errors import NotFound
from currencies.money import convert_from_base, money_json

CURRENCY_PARAM = OpenApiParameter("currency", OpenApiTypes.STR, description="ISO 4217 code; prices are converted from USD.")


def product_json(product: Product, currency: str, rate: Decimal) -> dict[str, Any]:
    return {
        "slug": product.slug,
        "name": product.name,
        "description": product.description,
        "category": product.category.slug if product.category_id else None,
        "variants": [
            {
                "sku": variant.sku,
                "name": variant.display_name,
                "attributes": variant.attributes,
                "price": money_json(convert_from_base(variant.price.amount, currency, rate)),
                "available": variant.available,
                "availability": stock_status(variant.available, variant.low_stock_threshold_now),
            }
            for variant in product.active_variants
        ],
    }


class ProductPagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class ProductListView(ShopAPIView):
    @extend_schema(
        operation_id="products_list",
        parameters=[CURRENCY_PARAM, OpenApiParameter("page", OpenApiTypes.INT, description="1-based; 20 products a page.")],
        responses={200: ProductPageSerializer, **error_responses(400, 404, 429)},
        summary="Products with prices and availability",
    )
    def get(self, request: Request) -> Response:
        currency = query_currency(request)
        rate = rates.current_rate(currency)
        paginator = ProductPagination()
        page = paginator.paginate_queryset(product_list(), request, view=self)
        return paginator.get_paginated_response([product_json(p, currency, rate) for p in page])


class ProductDetailView(ShopAPIView):
    @extend_schema(
        parameters=[CURRENCY_PARAM], responses={200: ProductSerializer, **error_responses(400, 404, 429)}, summary="One product"
    )
    def get(self, request: Request, slug: str) -> Response:
        currency = query_currency(request)
        product = product_detail(slug)
        if product is None:
            raise NotFound("There is no product with that slug.")
        return Response(product_json(product, currency, rates.current_rate(currency)))
