"""The API's JSON parser: DRF's, with limits that turn hostile bodies into 400s.

Python's json module recurses once per nesting level: a body of ten thousand `[` raised
RecursionError, a 500. This parser refuses nesting deeper than API_JSON_MAX_DEPTH (no
request of the API nests more than a few levels) as a ParseError, which the API answers
as 400 `invalid` (shop.api_errors), like any other malformed body. A NUL character inside a string
is left to the fields' own validation, which names the field (DRF's CharField and the
address rules refuse it).
"""
from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

DEFAULT_MAX_DEPTH = 20


def max_depth() -> int:
    return int(getattr(settings, "API_JSON_MAX_DEPTH", DEFAULT_MAX_DEPTH))


def check_parsed(data: Any, limit: int) -> None:
    """ParseError if parsed JSON nests deeper than `limit`. Iterative, so it never
    recurses itself."""
    pending: list[tuple[Any, int]] = [(data, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, (dict, list)):
            if depth + 1 > limit:
                raise ParseError(f"nested deeper than {limit} levels")
            if isinstance(item, dict):
                pending.extend((value, depth + 1) for value in item.values())
            else:
                pending.extend((value, depth + 1) for value in item)


class LimitedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):  # type: ignore[no-untyped-def]
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read() if stream is not None else b""
        if isinstance(raw, str):
            raw = raw.encode(encoding)
        limit = max_depth()
        try:
            data = json.loads(raw.decode(encoding), parse_constant=_refuse_constant)
        except RecursionError:
            raise ParseError(f"nested deeper than {limit} levels") from None
        except ValueError as exc:  # also UnicodeDecodeError
            raise ParseError(_short(exc)) from None
        check_parsed(data, limit)
        return data


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) <= 100 else text[:99] + "…"
