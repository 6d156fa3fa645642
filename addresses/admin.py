"""Saved addresses in admin: found by customer, city or postal code; each written the
one way addresses are written (addresses.formatting) and judged by the same rules as the
checkout (addresses.validation) when staff change one."""
from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from addresses.formatting import address_lines
from addresses.models import SavedAddress
from addresses.rules import ADDRESS_FIELDS
from addresses.validation import check_address


class SavedAddressForm(forms.ModelForm):
    class Meta:
        model = SavedAddress
        fields = "__all__"

    def clean(self):
        data = super().clean()
        cleaned, errors = check_address({key: data.get(key) or "" for key in ADDRESS_FIELDS})
        for key, messages in errors.items():
            self.add_error(key if key in self.fields else None, messages)
        if not errors:
            data.update({key: cleaned.get(key, "") for key in ADDRESS_FIELDS})
        return data


@admin.register(SavedAddress)
class SavedAddressAdmin(admin.ModelAdmin):
    form = SavedAddressForm
    list_display = ["__str__", "user", "country", "is_default_shipping", "is_default_billing", "updated_at"]
    list_filter = ["country", "is_default_shipping", "is_default_billing"]
    search_fields = ["user__email", "name", "city", "postal_code", "line1"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    readonly_fields = ["formatted", "created_at", "updated_at"]
    fields = [
        "user", "formatted", "name", "line1", "line2", "city", "region", "postal_code", "country",
        "is_default_shipping", "is_default_billing", "created_at", "updated_at",
    ]

    @admin.display(description=_("as written on a parcel"))
    def formatted(self, obj: SavedAddress):
        if not obj.pk:
            return "-"
        return format_html_join("", "{}<br>", ((line,) for line in address_lines(obj.as_address())))
