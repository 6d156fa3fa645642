"""Exchange rates in the admin: every currency's rate in force with its age and a stale
flag, a per-currency manual override (audited), a refresh action, and read-only history.
Every write goes through currencies.services."""
from __future__ import annotations

from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext, gettext_lazy as _

from currencies import checks, rates
from currencies import services as rate_services
from shop.errors import ShopError
from currencies.models import CurrencyRate, ExchangeRate, ExchangeRateSet, RateOverrideLog
from currencies.providers import RateFeedError


class CurrencyRateForm(forms.ModelForm):
    override_rate = forms.DecimalField(
        required=False,
        min_value=Decimal("0.0000000001"),
        max_digits=20,
        decimal_places=10,
        label=_("Manual rate (units per 1 USD)"),
        help_text=_("Leave empty to use the provider's rate. The change is logged with your name."),
    )
    override_note = forms.CharField(required=False, max_length=200, label=_("Reason"))

    class Meta:
        model = CurrencyRate
        fields = ["override_rate", "override_note"]


@admin.register(CurrencyRate)
class CurrencyRateAdmin(admin.ModelAdmin):
    form = CurrencyRateForm
    list_display = ["currency", "rate_in_force", "source", "updated", "age", "is_stale", "feed_rate"]
    readonly_fields = ["currency", "feed_rate", "source", "updated", "age", "is_stale", "override_set_by", "override_set_at"]
    fieldsets = [
        (None, {"fields": ["currency", "feed_rate", "source", "updated", "age", "is_stale"]}),
        (_("Manual override"), {"fields": ["override_rate", "override_note", "override_set_by", "override_set_at"]}),
    ]
    actions = ["refresh_from_provider", "clear_overrides"]
    ordering = ["currency"]

    def has_add_permission(self, request) -> bool:
        return False  # rows come from the provider

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a currency with no rate cannot be sold in

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("rate_set", "override_set_by")

    def changelist_view(self, request, extra_context=None):
        if checks.demo_rates_in_use() and request.method == "GET":
            warning = gettext(checks.DEMO_RATES_WARNING).format(base=settings.BASE_CURRENCY)
            self.message_user(request, f"{warning} {gettext(checks.DEMO_RATES_HINT)}", messages.WARNING)
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("rate in force"), ordering="currency")
    def rate_in_force(self, obj: CurrencyRate) -> Decimal:
        return obj.rate

    @admin.display(description=_("source"))
    def source(self, obj: CurrencyRate) -> str:
        if obj.is_overridden:
            who = obj.override_set_by or gettext("unknown user")
            if obj.override_note:
                return gettext("manual (%(who)s): %(note)s") % {"who": who, "note": obj.override_note}
            return gettext("manual (%(who)s)") % {"who": who}
        return obj.rate_set.provider

    @admin.display(description=_("updated"), ordering="confirmed_at")
    def updated(self, obj: CurrencyRate):
        return obj.as_of

    @admin.display(description=_("age"))
    def age(self, obj: CurrencyRate) -> str:
        return timesince(rates.rate_info_for(obj).dated, timezone.now())  # from the rates' publication

    @admin.display(description=_("stale"), boolean=True)
    def is_stale(self, obj: CurrencyRate) -> bool:
        return rates.rate_info_for(obj).is_stale()

    def save_model(self, request, obj: CurrencyRate, form, change) -> None:
        if not form.changed_data:
            return
        rate = form.cleaned_data.get("override_rate")
        note = form.cleaned_data.get("override_note") or ""
        try:
            if rate is None:
                rate_services.clear_rate_override(currency=obj.currency, user_id=request.user.pk, note=note)
            else:
                rate_services.set_rate_override(currency=obj.currency, rate=rate, user_id=request.user.pk, note=note)
        except ShopError as error:
            self.message_user(request, error.message, messages.ERROR)

    def save_related(self, request, form, formsets, change) -> None:
        pass  # nothing related to save; the service wrote the row

    # Actions write rates: only staff who may change them (a view-only user sees neither).
    @admin.action(description=_("Refresh all rates from the provider now"), permissions=["change"])
    def refresh_from_provider(self, request, queryset) -> None:
        try:
            result = rate_services.refresh_rates()
        except RateFeedError as error:
            self.message_user(request, gettext("Rates not updated; the last rates stay in force. %(error)s") % {"error": error}, messages.ERROR)
            return
        self.message_user(
            request,
            (gettext("New rates from %(provider)s: %(currencies)s.") if result.created else gettext("Rates confirmed from %(provider)s: %(currencies)s."))
            % {"provider": result.rate_set.provider, "currencies": ", ".join(result.updated)}
            + (" " + gettext("No rate from this provider for %(currencies)s.") % {"currencies": ", ".join(result.missing)} if result.missing else ""),
            messages.SUCCESS if not result.missing else messages.WARNING,
        )

    @admin.action(description=_("Clear the manual rate of the selected currencies"), permissions=["change"])
    def clear_overrides(self, request, queryset) -> None:
        cleared = []
        for row in queryset.filter(override_rate__isnull=False):
            rate_services.clear_rate_override(currency=row.currency, user_id=request.user.pk, note="cleared from the list")
            cleared.append(row.currency)
        self.message_user(
            request, gettext("Back to the provider's rate: %(currencies)s.") % {"currencies": ", ".join(cleared) or gettext("none had a manual rate")}
        )


@admin.register(RateOverrideLog)
class RateOverrideLogAdmin(admin.ModelAdmin):
    list_display = ["changed_at", "currency", "action", "old_rate", "new_rate", "changed_by", "note"]
    list_filter = ["currency", "action"]
    date_hierarchy = "changed_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # an audit trail is never edited


class ExchangeRateInline(admin.TabularInline):
    model = ExchangeRate
    fields = ["currency", "rate"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ExchangeRateSet)
class ExchangeRateSetAdmin(admin.ModelAdmin):
    list_display = ["fetched_at", "provider", "published_at", "confirmed_at"]
    list_filter = ["provider"]
    inlines = [ExchangeRateInline]
    readonly_fields = ["provider", "base_currency", "published_at", "fetched_at", "confirmed_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # history: view only

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
