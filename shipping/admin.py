"""Staff set where the shop ships: zones with their countries, and each zone's methods
with price, free-shipping threshold, delivery window and weight steps.

A method's code is fixed once created (carts in checkout and orders name the method by
it), and methods are deactivated rather than deleted, for the same reason."""
from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django_countries import countries as all_countries
from django.utils.translation import gettext, gettext_lazy as _, ngettext
from moneyed import Money

from currencies.money import format_money
from shipping.models import ShippingMethod, ShippingZone, WeightStep
from shipping.services import zone_overlap_error

COUNTRIES_LISTED = 8  # on the zone list; the rest are counted


def usd_text(amount: Decimal | None) -> str:
    """$5.00; a dash for no amount."""
    return "—" if amount is None else format_money(Money(amount, "USD"), "en_US")


def price_text(price_usd: Decimal, step_prices: list[Decimal]) -> str:
    """A method's price: its flat price, or the range of its weight steps' prices."""
    if not step_prices:
        return usd_text(price_usd)
    low, high = min(step_prices), max(step_prices)
    return gettext("by weight, %(price)s") % {"price": usd_text(low) + (f"–{usd_text(high)}" if high != low else "")}


def delivery_window(min_days: int, max_days: int) -> str:
    """"3–5 days", "1 day", "2 days" (kept on one line)."""
    if min_days == max_days:
        text = ngettext("%(count)s day", "%(count)s days", max_days) % {"count": max_days}
    else:
        text = gettext("%(min)s–%(max)s days") % {"min": min_days, "max": max_days}
    return text.replace(" ", "\u00a0")


def country_codes_named(term: str) -> set[str]:
    """The codes of the countries whose name contains `term` ("germ" -> {"DE"})."""
    term = term.strip().lower()
    if len(term) < 3:
        return set()
    return {code for code, name in all_countries if term in str(name).lower()}


# --- zones --------------------------------------------------------------------------------


class CountriesWidget(FilteredSelectMultiple):
    """The two-box country picker, in a box of its own: the admin's script puts the picker
    first in the select's parent, which would otherwise push the field's label after it."""

    def render(self, *args, **kwargs):
        return format_html("<div>{}</div>", super().render(*args, **kwargs))


class ShippingZoneForm(forms.ModelForm):
    class Meta:
        model = ShippingZone
        fields = ["name", "countries", "rest_of_world", "position"]
        widgets = {"countries": CountriesWidget("countries", is_stacked=False)}

    def clean(self):
        cleaned = super().clean()
        codes = [str(code) for code in cleaned.get("countries") or []]
        error = zone_overlap_error(codes, exclude_pk=self.instance.pk)
        if error:
            self.add_error("countries", error)
        if cleaned.get("rest_of_world"):
            other = ShippingZone.objects.filter(rest_of_world=True).exclude(pk=self.instance.pk).first()
            if other is not None:
                self.add_error(
                    "rest_of_world", gettext("“%(name)s” is already the rest-of-world zone; only one zone can be.") % {"name": other.name}
                )
        elif "countries" in cleaned and not codes:
            self.add_error("countries", gettext("Choose the countries this zone serves, or make it the rest-of-world zone."))
        return cleaned


class ShippingMethodForm(forms.ModelForm):
    """A method, alone or as a row of its zone: the code is fixed once the method exists,
    and the delivery window must not end before it starts."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "code" in self.fields:
            self.fields["code"].disabled = True

    def clean(self):
        cleaned = super().clean()
        low, high = cleaned.get("min_days"), cleaned.get("max_days")
        if low is not None and high is not None and low > high:
            self.add_error("max_days", gettext("Delivery cannot end before it starts (from %(days)s days).") % {"days": low})
        return cleaned


class ShippingMethodInline(admin.TabularInline):
    model = ShippingMethod
    form = ShippingMethodForm
    extra = 0
    can_delete = False  # deactivate instead: carts and orders name the method's code
    fields = ["code", "name", "price_usd", "free_over_usd", "min_days", "max_days", "weight_steps", "is_active", "position"]
    readonly_fields = ["weight_steps"]
    show_change_link = True

    def get_formset(self, request: HttpRequest, obj: ShippingZone | None = None, **kwargs):
        # Narrow inputs, so that a zone's methods fit the page as one table.
        def number(width: str, step: str = "1") -> forms.NumberInput:
            return forms.NumberInput(attrs={"style": f"width: {width}", "step": step})

        kwargs["widgets"] = {
            "code": forms.TextInput(attrs={"size": 10}),
            "name": forms.TextInput(attrs={"size": 16}),
            "price_usd": number("6em", "0.01"),
            "free_over_usd": number("6em", "0.01"),
            "min_days": number("3.5em"),
            "max_days": number("3.5em"),
            "position": number("3.5em"),
        }
        return super().get_formset(request, obj, **kwargs)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ShippingMethod]:
        return super().get_queryset(request).annotate(step_count=Count("weight_steps"))

    @admin.display(description=_("Weight steps"))
    def weight_steps(self, method: ShippingMethod) -> str:
        steps = getattr(method, "step_count", 0)
        if not method.pk or not steps:
            return gettext("none")
        return ngettext("%(count)s step", "%(count)s steps", steps) % {"count": steps}


@admin.register(ShippingZone)
class ShippingZoneAdmin(admin.ModelAdmin):
    form = ShippingZoneForm
    list_display = ["name", "country_list", "rest_of_world", "method_list", "position"]
    list_filter = ["rest_of_world"]
    search_fields = ["name", "countries"]
    inlines = [ShippingMethodInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ShippingZone]:
        active = ShippingMethod.objects.filter(is_active=True).order_by("position", "id").prefetch_related("weight_steps")
        return super().get_queryset(request).prefetch_related(Prefetch("methods", queryset=active, to_attr="active_methods"))

    def get_search_results(self, request: HttpRequest, queryset, search_term: str):
        # A country's name finds the zone that lists it ("Germany", not only "DE").
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        codes = country_codes_named(search_term)
        if codes:
            named = Q()
            for code in codes:
                named |= Q(countries__contains=code)
            queryset |= self.get_queryset(request).filter(named)
        return queryset, may_have_duplicates

    @admin.display(description=_("Countries"))
    def country_list(self, zone: ShippingZone) -> str:
        names = sorted(country.name for country in zone.countries)
        if not names:
            return gettext("every other country") if zone.rest_of_world else gettext("none")
        shown = ", ".join(names[:COUNTRIES_LISTED])
        more = len(names) - COUNTRIES_LISTED
        text = gettext("%(countries)s and %(count)s more") % {"countries": shown, "count": more} if more > 0 else shown
        return gettext("%(countries)s; and every other country") % {"countries": text} if zone.rest_of_world else text

    @admin.display(description=_("Active methods"))
    def method_list(self, zone: ShippingZone) -> str:
        methods = getattr(zone, "active_methods", None)
        if methods is None:
            methods = list(zone.methods.filter(is_active=True))
        parts = []
        for method in methods:
            free = ", " + gettext("free from %(price)s") % {"price": usd_text(method.free_over_usd)} if method.free_over_usd is not None else ""
            steps = [step.price_usd for step in method.weight_steps.all()]
            parts.append(f"{method.name} {price_text(method.price_usd, steps)}{free}")
        return "; ".join(parts) or gettext("none active")


# --- methods ------------------------------------------------------------------------------


class WeightStepForm(forms.ModelForm):
    class Meta:
        model = WeightStep
        fields = ["up_to_grams", "price_usd"]
        labels = {"up_to_grams": _("up to (grams)")}


class WeightStepInline(admin.TabularInline):
    model = WeightStep
    form = WeightStepForm
    extra = 0
    verbose_name = _("weight step")
    verbose_name_plural = _("weight steps (a parcel pays the first step it fits; heavier parcels cannot use this method)")


@admin.register(ShippingMethod)
class ShippingMethodAdmin(admin.ModelAdmin):
    form = ShippingMethodForm
    list_display = ["name", "code", "zone", "price", "free_from", "delivery", "is_active"]
    list_filter = ["zone", "is_active"]
    list_select_related = ["zone"]
    search_fields = ["code", "name", "zone__name"]
    fields = ["zone", "code", "name", "price_usd", "free_over_usd", "min_days", "max_days", "is_active", "position"]
    inlines = [WeightStepInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ShippingMethod]:
        return super().get_queryset(request).prefetch_related("weight_steps")

    @admin.display(description=_("Price"), ordering="price_usd")
    def price(self, method: ShippingMethod) -> str:
        return price_text(method.price_usd, [step.price_usd for step in method.weight_steps.all()])

    @admin.display(description=_("Free from"), ordering="free_over_usd")
    def free_from(self, method: ShippingMethod) -> str:
        return usd_text(method.free_over_usd) if method.free_over_usd is not None else gettext("never free")

    @admin.display(description=_("Delivery"), ordering="max_days")
    def delivery(self, method: ShippingMethod) -> str:
        return delivery_window(method.min_days, method.max_days)

    def get_readonly_fields(self, request: HttpRequest, obj: ShippingMethod | None = None) -> list[str]:
        # Carts in checkout name a method by its code; changing it would orphan them.
        return ["code"] if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: ShippingMethod | None = None) -> bool:
        return False  # deactivate instead: carts and orders refer to the code
