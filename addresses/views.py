"""The address book pages under /account/addresses/ (signed-in customers only): the
list, add, edit, delete and the default shipping and billing address. Each view parses
the form, calls one service of addresses.services and renders; another customer's
address is a 404."""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST
from django_countries import countries as all_countries
from django.utils.translation import gettext

from addresses import selectors, services
from addresses.formatting import address_lines
from addresses.forms import address_form, address_from_post, country_changed
from addresses.models import SavedAddress
from shop.errors import InvalidInput, NotFound

PREFIX = "address"
DEFAULT_COUNTRY = "US"


def _own_address(request: HttpRequest, address_id: int) -> SavedAddress:
    try:
        return selectors.address_of(user_id=request.user.pk, address_id=address_id)
    except NotFound:
        raise Http404("No such address in your address book.") from None


def _countries() -> list[tuple[str, str]]:
    return [(country.code, country.name) for country in all_countries]


def _form_page(
    request: HttpRequest,
    *,
    values: dict[str, Any] | None,
    errors: dict[str, list[str]] | None = None,
    saved: SavedAddress | None = None,
    defaults: dict[str, bool] | None = None,
    notice: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        "form": address_form(
            prefix=PREFIX, values=values, errors=errors or {}, countries=_countries(), default_country=DEFAULT_COUNTRY
        ),
        "saved": saved,
        "defaults": defaults or {},
        "form_error": gettext("Please correct the fields marked below.") if errors else "",
        "form_notice": notice,
    }
    return render(request, "addresses/form.html", context, status=status)


def _posted_defaults(request: HttpRequest) -> dict[str, bool]:
    return {kind: request.POST.get(f"default_{kind}") == "on" for kind in selectors.KINDS}


@login_required
@require_http_methods(["GET", "HEAD"])
def address_list(request: HttpRequest) -> HttpResponse:
    book = [
        {"address": saved, "lines": address_lines(saved.as_address())}
        for saved in selectors.addresses_of(user_id=request.user.pk)
    ]
    return render(request, "addresses/list.html", {"book": book})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def add(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _form_page(request, values=None)
    values, defaults = address_from_post(request.POST, PREFIX), _posted_defaults(request)
    if country_changed(request.POST, PREFIX):
        return _form_page(request, values=values, defaults=defaults, notice=gettext("The fields now follow the chosen country. Check them, then save."))
    try:
        services.add_address(
            user_id=request.user.pk,
            address=values,
            default_shipping=defaults[selectors.SHIPPING],
            default_billing=defaults[selectors.BILLING],
        )
    except InvalidInput as error:
        return _form_page(request, values=values, errors=error.details, defaults=defaults, status=400)
    messages.success(request, gettext("The address is saved in your address book."))
    return redirect("addresses:list")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def edit(request: HttpRequest, address_id: int) -> HttpResponse:
    saved = _own_address(request, address_id)
    if request.method != "POST":
        return _form_page(request, values=saved.as_address(), saved=saved)
    values = address_from_post(request.POST, PREFIX)
    if country_changed(request.POST, PREFIX):
        return _form_page(request, values=values, saved=saved, notice=gettext("The fields now follow the chosen country. Check them, then save."))
    try:
        services.update_address(user_id=request.user.pk, address_id=saved.pk, address=values)
    except InvalidInput as error:
        return _form_page(request, values=values, errors=error.details, saved=saved, status=400)
    messages.success(request, gettext("The address is updated."))
    return redirect("addresses:list")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def delete(request: HttpRequest, address_id: int) -> HttpResponse:
    saved = _own_address(request, address_id)
    if request.method != "POST":
        return render(request, "addresses/delete.html", {"saved": saved, "lines": address_lines(saved.as_address())})
    services.delete_address(user_id=request.user.pk, address_id=saved.pk)
    messages.success(request, gettext("The address is deleted from your address book."))
    return redirect("addresses:list")


@login_required
@require_POST
def make_default(request: HttpRequest, address_id: int, kind: str) -> HttpResponse:
    saved = _own_address(request, address_id)
    if kind not in selectors.KINDS:
        raise Http404("No such default.")
    services.set_default(user_id=request.user.pk, address_id=saved.pk, kind=kind)
    name = address_lines(saved.as_address())[0]
    if kind == selectors.SHIPPING:
        messages.success(request, gettext("%(name)s is now your default shipping address.") % {"name": name})
    else:
        messages.success(request, gettext("%(name)s is now your default billing address.") % {"name": name})
    return redirect("addresses:list")
