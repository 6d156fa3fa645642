"""One real-looking address per country the address tests use, in the API's shape."""
from __future__ import annotations

US = {"name": "Grace Hopper", "line1": "1 Main St", "city": "Springfield", "region": "IL", "postal_code": "62701", "country": "US"}
DE = {"name": "Ada Lovelace", "line1": "Unter den Linden 1", "city": "Berlin", "postal_code": "10117", "country": "DE"}
JP = {"name": "Taro Yamada", "line1": "1-2-3 Jingumae", "city": "Shibuya-ku", "region": "Tokyo", "postal_code": "150-0001", "country": "JP"}
GB = {"name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London", "postal_code": "SW1Y 4JH", "country": "GB"}

US_LINES = ["Grace Hopper", "1 Main St", "Springfield, IL 62701", "United States"]
DE_LINES = ["Ada Lovelace", "Unter den Linden 1", "10117 Berlin", "Germany"]
JP_LINES = ["Taro Yamada", "1-2-3 Jingumae", "Shibuya-ku, Tokyo", "150-0001", "Japan"]
GB_LINES = ["Ada Lovelace", "12 St James's Square", "London", "SW1Y 4JH", "United Kingdom"]


def form_data(address: dict[str, str], prefix: str = "shipping", **extra: str) -> dict[str, str]:
    """An address as a form posts it, laid out for its own country."""
    data = {f"{prefix}-{key}": value for key, value in address.items()}
    data[f"{prefix}-rendered_country"] = address.get("country", "")
    return {**data, **extra}
