"""The customer's data pages (/account/privacy/): what the shop keeps and why, the JSON
download, and deleting the account. The rules are in accounts.privacy; these views only
ask and answer."""
from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from django.utils.translation import gettext

from accounts import privacy


class DeleteAccountForm(forms.Form):
    """Proof that the account's owner is at the keyboard: their password, or their email
    address for an account that has no password."""

    confirmation = forms.CharField(max_length=254, strip=False)

    def __init__(self, *args, user: AbstractBaseUser, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.by_password = user.has_usable_password()
        field = self.fields["confirmation"]
        field.label = gettext("Your password") if self.by_password else gettext("Your email address")
        field.widget = forms.PasswordInput() if self.by_password else forms.EmailInput()

    def clean_confirmation(self) -> str:
        typed = self.cleaned_data["confirmation"]
        if self.by_password:
            if not self.user.check_password(typed):
                raise forms.ValidationError(gettext("That is not your password."))
        elif typed.strip().lower() != (self.user.email or "").lower():
            raise forms.ValidationError(gettext("That is not your email address."))
        return typed


def json_download(data: dict, filename: str) -> HttpResponse:
    """A JSON document the browser saves as `filename`, never caches."""
    response = HttpResponse(json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "HEAD"])
def privacy_page(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/privacy.html", {"deletion_problem": privacy.deletion_problem(user_id=request.user.pk)})


@login_required
@require_http_methods(["GET", "HEAD"])
def export_page(request: HttpRequest) -> HttpResponse:
    data = privacy.export_data(user_id=request.user.pk)
    return json_download(data, privacy.export_filename(prefix="my-data"))


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def delete_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = DeleteAccountForm(request.POST or None, user=user)
    problem = privacy.deletion_problem(user_id=user.pk)
    if request.method == "POST" and problem is None and form.is_valid():
        try:
            privacy.delete_account(user_id=user.pk)
        except privacy.AccountNotDeletable as error:
            problem = error.message
        else:
            logout(request)
            messages.success(request, gettext("Your account is deleted. Your orders are kept for our records without your name, email or address."))
            return redirect("catalog:product_list")
    status = 409 if request.method == "POST" and problem else 200
    return render(request, "accounts/privacy_delete.html", {"form": form, "deletion_problem": problem}, status=status)
