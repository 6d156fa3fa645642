"""OpenAPI documentation of the shapes every app's API shares (docs/api.md Conventions): Money,
the error shape for each documented status, and a string-enum field.

These serializers only describe JSON for drf-spectacular (`@extend_schema`); no view
builds or validates a response with them."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class EnumString(serializers.CharField):
    """A string from a fixed list, documented as its own named component: fields named
    `status` mean different things in different shapes, and a name of our own keeps
    drf-spectacular from guessing one for each."""

    def __init__(self, values: Iterable[str], *, enum_name: str, **kwargs: Any) -> None:
        self.enum_values = list(values)
        self.enum_name = enum_name
        super().__init__(**kwargs)


class EnumStringExtension(OpenApiSerializerFieldExtension):
    target_class = EnumString

    def get_name(self) -> str:
        return self.target.enum_name

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "string", "enum": self.target.enum_values}


class WholeBody:
    """For PATCH request serializers whose fields are required as written: drf-spectacular
    documents a PATCH body as partial (every field optional) unless the serializer will
    not become partial."""

    @property
    def partial(self) -> bool:
        return False

    @partial.setter
    def partial(self, value: bool) -> None:
        pass


class MoneySerializer(serializers.Serializer):
    amount = serializers.CharField(
        help_text='Decimal string with exactly the currency\'s minor units: "19.99" USD, "1999" JPY, "5.250" KWD.',
    )
    currency = serializers.CharField(min_length=3, max_length=3, help_text="ISO 4217 code.")

    class Meta:
        ref_name = "Money"


class TaxLineSerializer(serializers.Serializer):
    name = serializers.CharField(help_text='Like "VAT" or "Sales tax".')
    rate = serializers.CharField(help_text='Percent as a decimal string with two places: "19.00".')
    amount = MoneySerializer()

    class Meta:
        ref_name = "TaxLine"


class AddressSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False)
    city = serializers.CharField(max_length=200, required=False, help_text="Required where the country's addresses have one.")
    region = serializers.CharField(
        max_length=200, required=False, help_text="State, province or prefecture; required where the country needs one (US, JP, ...)."
    )
    postal_code = serializers.CharField(max_length=200, required=False, help_text="Required where the country has postal codes.")
    country = serializers.CharField(min_length=2, max_length=2, help_text="ISO 3166 alpha-2, like GB or DE.")

    class Meta:
        ref_name = "Address"


# Status -> (component name, codes docs/api.md lists for it, what it means).
ERROR_STATUSES: dict[int, tuple[str, tuple[str, ...], str]] = {
    400: (
        "BadRequest",
        ("invalid", "unsupported_currency", "checkout_incomplete", "discount_not_applicable"),
        "`invalid` (details: field -> messages), `unsupported_currency`, `checkout_incomplete` (details: missing fields), "
        "`discount_not_applicable` (details: `reason`: `unknown`, `expired`, `not_started`, `used_up`, `minimum_not_met`, "
        "`not_in_cart`, `customer_limit`).",
    ),
    402: ("PaymentFailed", ("payment_failed",), "`payment_failed` (details: Stripe's decline code, when known)."),
    404: ("NotFound", ("not_found",), "`not_found`."),
    409: (
        "Conflict",
        (
            "insufficient_stock", "cart_not_active", "cart_not_in_checkout", "reservation_expired", "discount_unavailable",
            "order_not_cancellable",
        ),
        '`insufficient_stock` (details: {"items": [{"sku", "requested", "available"}]}), `cart_not_active`, '
        "`cart_not_in_checkout`, `reservation_expired`, `discount_unavailable` (details: `reason`), `order_not_cancellable` (details: `reason`, the order's status).",
    ),
    429: ("RateLimited", ("rate_limited",), "`rate_limited` (Retry-After header tells when to come back)."),
    502: (
        "PaymentProviderUnavailable",
        ("payment_provider_unavailable",),
        "`payment_provider_unavailable`: Stripe unreachable; nothing charged, nothing lost.",
    ),
}


def _error_serializer(name: str, codes: tuple[str, ...]) -> type[serializers.Serializer]:
    body = type(
        f"{name}ErrorBody",
        (serializers.Serializer,),
        {
            "code": EnumString(codes, enum_name=f"{name}ErrorCode"),
            "message": serializers.CharField(help_text="A human sentence."),
            "details": serializers.DictField(help_text="Data about the error; `{}` when there is none."),
            "Meta": type("Meta", (), {"ref_name": f"{name}ErrorBody"}),
            "__module__": __name__,
        },
    )
    return type(
        f"{name}Error",
        (serializers.Serializer,),
        {"error": body(), "Meta": type("Meta", (), {"ref_name": f"{name}Error"}), "__module__": __name__},
    )


ERROR_SERIALIZERS: dict[int, type[serializers.Serializer]] = {
    status: _error_serializer(name, codes) for status, (name, codes, _) in ERROR_STATUSES.items()
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """`responses` entries for these error statuses, each in docs/api.md's error shape."""
    return {
        status: OpenApiResponse(ERROR_SERIALIZERS[status], description=ERROR_STATUSES[status][2]) for status in statuses
    }
