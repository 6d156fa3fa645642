"""The customer's account pages: the account page (/account/) and their name
(/account/profile/). Sign-up, login, passwords and email addresses are allauth's pages
under /accounts/, drawn in the shop's look by templates/account/ and templates/allauth/."""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from django.utils.text import capfirst
from django.utils.translation import get_language_info, gettext, gettext_lazy

from accounts import selectors, services
from orders import selectors as order_selectors

LATEST_ORDERS = 5


@login_required
@require_http_methods(["GET", "HEAD"])
def home(request: HttpRequest) -> HttpResponse:
    user_id = request.user.pk
    context = {
        "latest_orders": order_selectors.latest_orders_of_customer(user_id=user_id, limit=LATEST_ORDERS),
        "order_count": order_selectors.order_count_of_customer(user_id=user_id),
    }
    return render(request, "accounts/account.html", context)


class ProfileForm(forms.Form):
    first_name = forms.CharField(
        label=gettext_lazy("First name"), max_length=150, required=False, widget=forms.TextInput(attrs={"autocomplete": "given-name"})
    )
    last_name = forms.CharField(
        label=gettext_lazy("Last name"), max_length=150, required=False, widget=forms.TextInput(attrs={"autocomplete": "family-name"})
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            services.update_profile(user_id=user.pk, **form.cleaned_data)
            messages.success(request, gettext("Your name is saved."))
            return redirect("accounts:home")
    else:
        form = ProfileForm(initial={"first_name": user.first_name, "last_name": user.last_name})
    saved = selectors.saved_language(user_id=user.pk)
    saved_language = capfirst(get_language_info(saved)["name_local"]) if saved else ""
    return render(request, "accounts/profile.html", {"form": form, "saved_language": saved_language})


def too_many_requests(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """allauth's answer when one of its rate limits is reached (shop.urls.handler429)."""
    return render(request, "account/429.html", status=429)
