from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.api_schema import ProductPageSerializer, ProductSerializer
from catalog.images import images_json
from catalog.models import Product
from catalog.filters import SORTS, parse_listing
from catalog.selectors import product_detail, search_products
from catalog.stock import stock_status
from currencies import rates
from currencies.api import query_currency
from shop.api_base import ShopAPIView
from shop.api_schema import error_responses
from shop.errors import InvalidInput, NotFound
from currencies.money import convert_from_base, money_json

CURRENCY_PARAM = OpenApiParameter("currency", OpenApiTypes.STR, description="ISO 4217 code; prices are converted from USD.")


def product_json(product: Product, currency: str, rate: Decimal) -> dict[str, Any]:
    return {
        "slug": product.slug,
        "name": product.name,
        "description": product.description,
        "category": product.category.slug if product.category_id else None,
        "images": images_json(product),
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


LIST_PARAMS = [
    CURRENCY_PARAM,
    OpenApiParameter("page", OpenApiTypes.INT, description="1-based; 20 products a page. A page past the end is 404 `not_found`."),
    OpenApiParameter(
        "q", OpenApiTypes.STR,
        description="Search words (at most 200 characters): full text over name, SKUs, attribute values and description, "
        "each word a prefix; name matches rank first. When nothing matches, products with similar words (typos).",
    ),
    OpenApiParameter(
        "sort", OpenApiTypes.STR, enum=list(SORTS),
        description="`price`/`-price`: by the lowest active variant's price; `name`: natural order (2 before 10); "
        "`newest`; `bestselling`: units sold. Default: relevance with `q`, else `name`.",
    ),
    OpenApiParameter("category", OpenApiTypes.STR, description="A category's slug; its subcategories' products included."),
    OpenApiParameter("in_stock", OpenApiTypes.STR, enum=["true", "false"], description="`true`: only products with a variant available now."),
    OpenApiParameter("price_min", OpenApiTypes.DECIMAL, description="Lowest price, in the request's currency, as the prices are shown (converted and rounded)."),
    OpenApiParameter("price_max", OpenApiTypes.DECIMAL, description="Highest price, in the request's currency; not below `price_min`."),
    OpenApiParameter(
        "attr.<name>", OpenApiTypes.STR, many=True, explode=True,
        description="An attribute value, like `attr.size=M`; repeat for several values of one attribute (any of them). "
        "A product matches when one of its variants has a chosen value of every attribute named, in the price range and stock asked for.",
    ),
]


class ProductListView(ShopAPIView):
    @extend_schema(
        operation_id="products_list",
        parameters=LIST_PARAMS,
        responses={200: ProductPageSerializer, **error_responses(400, 404, 429)},
        summary="Products with prices and availability: search, sort and filters",
    )
    def get(self, request: Request) -> Response:
        currency = query_currency(request)
        rate = rates.current_rate(currency)
        parsed = parse_listing(request.query_params, currency=currency, rate=rate, category_param=True)
        if parsed.errors:
            names = ", ".join(sorted(parsed.errors))
            raise InvalidInput(f"Not a valid value: {names}.", details=parsed.errors)
        found = search_products(parsed.listing)
        paginator = ProductPagination()
        page = paginator.paginate_queryset(found.products, request, view=self)
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
