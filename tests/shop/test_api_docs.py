"""docs/api.md and the OpenAPI schema generated from the views describe the same API.

- Every `### METHOD /api/v1/...` heading of docs/api.md is an operation the code serves,
  and every served operation has such a heading. An endpoint added or removed in the code
  without the page, or on the page without the code, fails here.
- Each documented endpoint's success and error statuses are the ones its schema
  operation documents.
- The page's error table lists every error code the schema's error components enumerate
  (shop.api_schema.ERROR_STATUSES) with the same status, and no code the shop does not
  serve.

Paths are compared with every `{...}` parameter replaced by `{}`: the page names a cart
`{id}` where the URL pattern says `<str:cart_id>` and the schema `{cart_id}`.
"""
from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import RequestFactory
from django.urls import Resolver404, resolve
from drf_spectacular.generators import SchemaGenerator
from rest_framework import exceptions

from shop import api_errors
from shop.api_schema import ERROR_STATUSES

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# The one form an endpoint heading may take: `### GET /api/v1/carts/{id}/lines/`.
ENDPOINT_HEADING = re.compile(r"^### (GET|POST|PUT|PATCH|DELETE) (/api/v1/(?:(?:[a-z0-9-]+|\{[a-z_]+\})/)*)$")
# Any heading that starts like an endpoint. If it is not in the form above it is a typo
# that would otherwise drop the endpoint from the comparison silently.
ENDPOINT_LIKE_HEADING = re.compile(r"^#+\s*`?(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\b", re.IGNORECASE)

# Served under /api/v1/ but not in the generated schema, so handled explicitly:
# - GET /api/v1/schema/: drf-spectacular leaves its own view out of the schema
#   (SPECTACULAR_SETTINGS["SERVE_INCLUDE_SCHEMA"] is False).
# - POST /api/v1/webhooks/stripe/: Stripe's webhook is a plain Django view (the signature
#   is checked on the raw body, outside DRF), which drf-spectacular does not see.
# test_endpoints_outside_the_schema_are_served checks that both really are served, with
# that method. If the schema ever lists one of them, the comparison still holds.
NOT_IN_SCHEMA = {("GET", "/api/v1/schema/"), ("POST", "/api/v1/webhooks/stripe/")}

# Error codes served outside shop.api_schema.ERROR_STATUSES: documented in the page's
# table, but not in the schema's error components. Each is checked against its source.
SERVED_OUTSIDE_SCHEMA = {
    (403, "permission_denied"),  # DRF's CSRF check of requests with a signed-in session
    (405, "method_not_allowed"),  # DRF views and the webhook view
    (406, "not_acceptable"),  # DRF's content negotiation (the API renders JSON only)
    (500, "server_error"),  # shop.api_errors, for an unexpected exception with DEBUG off
    (500, "webhook_failed"),  # the webhook view, when handling a stored event failed
}

PARAMETER = re.compile(r"\{[^{}]*\}")
STATUS_BEFORE_CODE = re.compile(r"(?<![\w.])([1-5]\d\d)(?= `)")
CODE = re.compile(r"`([a-z_]+)`")
PARENTHESES = re.compile(r"\([^()]*\)")


def normalised(path: str) -> str:
    return PARAMETER.sub("{}", path)


# --- docs/api.md ------------------------------------------------------------------------


def _lines_outside_code_blocks(text: str) -> Iterator[tuple[int, str]]:
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            yield number, line


def doc_endpoints(text: str) -> dict[tuple[str, str], list[str]]:
    """(METHOD, normalised path) -> the lines of its section, from the endpoint headings.
    A heading that starts like an endpoint but is not in the exact form, or an endpoint
    documented twice, fails."""
    sections: dict[tuple[str, str], list[str]] = {}
    current: list[str] | None = None
    for number, line in _lines_outside_code_blocks(text):
        if line.startswith("#"):
            current = None
            match = ENDPOINT_HEADING.match(line)
            if match is None:
                assert not ENDPOINT_LIKE_HEADING.match(line), (
                    f"docs/api.md line {number}: {line!r} is not in the form `### METHOD /api/v1/path/`"
                )
                continue
            key = (match[1], normalised(match[2]))
            assert key not in sections, f"docs/api.md line {number}: {match[1]} {match[2]} is documented twice"
            current = sections[key] = []
        elif current is not None:
            current.append(line)
    return sections


def doc_error_table(text: str) -> set[tuple[int, str]]:
    """(status, code) of each row of the table whose header is `| status | code | ...`.
    Each row must name one status and one code."""
    lines = [line for _number, line in _lines_outside_code_blocks(text)]
    starts = [i for i, line in enumerate(lines) if re.match(r"^\|\s*status\s*\|\s*code\s*\|", line)]
    assert len(starts) == 1, f"docs/api.md needs exactly one `| status | code | ... |` table, found {len(starts)}"
    rows: set[tuple[int, str]] = set()
    codes: dict[str, int] = {}
    for line in lines[starts[0] + 2 :]:  # after the header and its --- row
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        status, code = re.fullmatch(r"[1-5]\d\d", cells[0]), re.fullmatch(r"`([a-z_]+)`", cells[1])
        assert status and code, f"error table row {line!r}: want `| <status> | `<code>` | ... |`"
        assert code[1] not in codes, f"error table: `{code[1]}` is listed twice"
        codes[code[1]] = int(cells[0])
        rows.add((int(cells[0]), code[1]))
    assert rows, "the error table of docs/api.md has no rows"
    return rows


def section_errors(endpoint: tuple[str, str], lines: list[str]) -> dict[int, set[str]]:
    """status -> codes from the section's one `- Errors: ...` line. Parenthesised
    explanations are left out, so a backticked field named there is not taken for a code."""
    found = [line for line in lines if line.startswith("- Errors:")]
    assert len(found) == 1, f"{' '.join(endpoint)}: want one `- Errors:` line, found {len(found)}"
    text = PARENTHESES.sub("", found[0].removeprefix("- Errors:"))
    parts = STATUS_BEFORE_CODE.split(text)  # ["", "400", " `invalid`; ", "404", ...]
    assert not CODE.search(parts[0]), f"{' '.join(endpoint)}: a code before any status in {found[0]!r}"
    errors: dict[int, set[str]] = {}
    for status, rest in zip(parts[1::2], parts[2::2]):
        codes = set(CODE.findall(rest))
        assert codes, f"{' '.join(endpoint)}: status {status} without a code in {found[0]!r}"
        assert int(status) not in errors, f"{' '.join(endpoint)}: status {status} twice in {found[0]!r}"
        errors[int(status)] = codes
    assert errors, f"{' '.join(endpoint)}: no status in {found[0]!r}"
    return errors


def section_success_statuses(lines: list[str]) -> set[int]:
    return {int(status) for line in lines for status in re.findall(r"^- Response ([1-5]\d\d)\b", line)}


@pytest.fixture(scope="module")
def api_doc() -> str:
    return API_DOC.read_text(encoding="utf-8")


# --- the generated schema ---------------------------------------------------------------


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def schema_operations(openapi: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    operations = {}
    for path, item in openapi["paths"].items():
        assert path.startswith("/api/v1/"), f"the schema lists {path}, outside /api/v1/"
        for method, operation in item.items():
            if method.upper() in HTTP_METHODS:  # a path item may also hold `parameters`
                operations[(method.upper(), normalised(path))] = operation
    return operations


def _deref(openapi: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].removeprefix("#/components/schemas/")
        node = openapi["components"]["schemas"][name]
    return node


def schema_error_codes(openapi: dict[str, Any], operation: dict[str, Any]) -> set[tuple[int, str]]:
    """(status, code) for each error response of an operation, from the enum of its
    `error.code`."""
    pairs = set()
    for status, response in operation["responses"].items():
        if int(status) < 400:
            continue
        body = _deref(openapi, response["content"]["application/json"]["schema"])
        error = _deref(openapi, body["properties"]["error"])
        code = _deref(openapi, error["properties"]["code"])
        pairs.update((int(status), value) for value in code["enum"])
    return pairs


# --- the tests --------------------------------------------------------------------------


def test_doc_headings_are_exactly_the_served_operations(api_doc: str, openapi: dict[str, Any]) -> None:
    documented = set(doc_endpoints(api_doc))
    served = set(schema_operations(openapi)) | {(method, normalised(path)) for method, path in NOT_IN_SCHEMA}

    assert not served - documented, f"served but not documented in docs/api.md: {sorted(served - documented)}"
    assert not documented - served, f"documented in docs/api.md but not served: {sorted(documented - served)}"


def test_endpoints_outside_the_schema_are_served() -> None:
    """NOT_IN_SCHEMA are real routes, not the API's catch-all 404, with that method."""
    try:
        catch_all = resolve("/api/v1/no-such-endpoint-3d8f1a/").func
    except Resolver404:
        catch_all = None
    for method, path in sorted(NOT_IN_SCHEMA):
        match = resolve(path)
        assert match.func is not catch_all, f"{path} is not served: it falls through to the API's 404"
        view_class = getattr(match.func, "view_class", None)
        if view_class is not None:  # a class-based view: its handler methods
            served = {
                name.upper()
                for name in view_class.http_method_names
                if name not in ("head", "options") and hasattr(view_class, name)
            }
        else:  # a plain view (the webhook): it names what it serves when asked otherwise
            response = match.func(RequestFactory().generic("OPTIONS", path))
            assert response.status_code == 405, f"OPTIONS {path} answered {response.status_code}, not 405"
            assert json.loads(response.content)["error"]["code"] == "method_not_allowed"
            served = {name.strip() for name in response["Allow"].split(",")}
        assert served == {method}, f"{path} serves {sorted(served)}; docs/api.md documents {method}"


def test_each_endpoint_documents_the_statuses_of_its_schema_operation(api_doc: str, openapi: dict[str, Any]) -> None:
    sections = doc_endpoints(api_doc)
    operations = schema_operations(openapi)
    table = doc_error_table(api_doc)
    for endpoint, lines in sorted(sections.items()):
        errors = section_errors(endpoint, lines)
        wrong = {(status, code) for status, codes in errors.items() for code in codes} - table
        assert not wrong, f"{' '.join(endpoint)}: (status, code) not in the error table: {sorted(wrong)}"
        if endpoint not in operations:
            continue  # NOT_IN_SCHEMA: no schema operation to compare with
        responses = {int(status) for status in operations[endpoint]["responses"]}
        schema_errors = {status for status in responses if status >= 400}
        assert set(errors) == schema_errors, (
            f"{' '.join(endpoint)}: docs/api.md lists error statuses {sorted(errors)}, the schema {sorted(schema_errors)}"
        )
        success = section_success_statuses(lines)
        assert success == responses - schema_errors, (
            f"{' '.join(endpoint)}: docs/api.md says `- Response {sorted(success)}`, the schema {sorted(responses - schema_errors)}"
        )


def test_error_table_lists_every_schema_error_code_with_its_status(api_doc: str, openapi: dict[str, Any]) -> None:
    table = doc_error_table(api_doc)
    enumerated = {(status, code) for status, (_name, codes, _text) in ERROR_STATUSES.items() for code in codes}
    in_operations = set().union(*(schema_error_codes(openapi, op) for op in schema_operations(openapi).values()))

    assert in_operations <= enumerated, f"the schema enumerates codes outside ERROR_STATUSES: {sorted(in_operations - enumerated)}"
    assert not enumerated - table, f"error codes missing from (or under another status in) docs/api.md: {sorted(enumerated - table)}"
    unknown = table - enumerated - SERVED_OUTSIDE_SCHEMA
    assert not unknown, f"docs/api.md's error table lists codes the shop does not serve: {sorted(unknown)}"


def test_codes_served_outside_the_schema_come_from_the_code() -> None:
    """SERVED_OUTSIDE_SCHEMA is not a list to satisfy by hand: each code is where it is said
    to come from, so a renamed code fails here before the page goes stale."""
    assert exceptions.PermissionDenied.status_code == 403 and exceptions.PermissionDenied.default_code == "permission_denied"
    assert exceptions.MethodNotAllowed.status_code == 405 and exceptions.MethodNotAllowed.default_code == "method_not_allowed"
    assert exceptions.NotAcceptable.status_code == 406 and exceptions.NotAcceptable.default_code == "not_acceptable"
    assert re.search(r"[\"']server_error[\"']", inspect.getsource(api_errors))
    webhook_view = resolve("/api/v1/webhooks/stripe/").func
    assert re.search(r"[\"']webhook_failed[\"']", inspect.getsource(inspect.getmodule(webhook_view)))
