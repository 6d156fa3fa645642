"""Staff set the tax rates: per country, optionally per region (a US state, a Canadian
province) and per product category (a reduced rate or an exemption). Which rate applies
to a line is taxes.selectors' rule; this page only keeps the table tidy."""
from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import F, Q, QuerySet
from django.http import HttpRequest
from django_countries import countries as all_countries
from django_countries.filters import CountryFilter
from django.utils.translation import gettext, gettext_lazy as _

from taxes.models import TaxRate
from taxes.selectors import format_rate, normalize_region


def country_codes_named(term: str) -> set[str]:
    """The codes of the countries whose name contains `term` ("germ" -> {"DE"})."""
    term = term.strip().lower()
    if len(term) < 3:
        return set()
    return {code for code, name in all_countries if term in str(name).lower()}


class CategoryFilter(admin.RelatedOnlyFieldListFilter):
    """The categories that have rates, and the rates for every product (no category)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.empty_value_display = gettext("every product")


class TaxRateForm(forms.ModelForm):
    class Meta:
        model = TaxRate
        fields = ["country", "region", "category", "name", "rate", "shipping_taxable"]

    def clean_region(self) -> str:
        return normalize_region(self.cleaned_data.get("region"))

    def clean(self):
        cleaned = super().clean()
        country, region, category = cleaned.get("country"), cleaned.get("region", ""), cleaned.get("category")
        if not country or "region" not in cleaned:
            return cleaned
        same = TaxRate.objects.filter(country=country, region=region, category=category).exclude(pk=self.instance.pk).first()
        if same is not None:
            where = gettext("%(country)s, region %(region)s") % {"country": same.country.name, "region": region} if region else same.country.name
            what = gettext("products in %(category)s") % {"category": category} if category else gettext("every product")
            field = "category" if category else ("region" if region else "country")
            self.add_error(
                field,
                gettext("%(where)s already has a rate for %(what)s: %(name)s %(rate)s%%. Change that one instead.")
                % {"where": where, "what": what, "name": same.name, "rate": format_rate(same.rate)},
            )
        return cleaned


@admin.register(TaxRate)
class TaxRateAdmin(admin.ModelAdmin):
    form = TaxRateForm
    list_display = ["country_name", "region_text", "category_text", "name", "rate_text", "shipping_taxed"]
    list_display_links = ["country_name", "name"]
    list_filter = [("country", CountryFilter), ("category", CategoryFilter), "shipping_taxable"]
    list_select_related = ["category"]
    search_fields = ["country", "region", "name"]
    autocomplete_fields = ["category"]
    # A country, its regions after it, the rate for every product before the categories'.
    ordering = ["country", "region", F("category__name").asc(nulls_first=True)]

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[TaxRate], search_term: str):
        # A country's name finds its rates ("Germany", not only "DE").
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        codes = country_codes_named(search_term)
        if codes:
            queryset |= self.get_queryset(request).filter(Q(country__in=codes))
        return queryset, may_have_duplicates

    @admin.display(description=_("Country"), ordering="country")
    def country_name(self, rate: TaxRate) -> str:
        return f"{rate.country.code} – {rate.country.name}"  # listed by code, so the code first

    @admin.display(description=_("Region"), ordering="region")
    def region_text(self, rate: TaxRate) -> str:
        return rate.region or gettext("whole country").replace(" ", "\u00a0")

    @admin.display(description=_("Category"), ordering="category__name")
    def category_text(self, rate: TaxRate) -> str:
        return str(rate.category) if rate.category_id else gettext("every product")

    @admin.display(description=_("Rate"), ordering="rate")
    def rate_text(self, rate: TaxRate) -> str:
        return f"{format_rate(rate.rate)}%"

    @admin.display(description=_("Shipping taxed"), boolean=True, ordering="shipping_taxable")
    def shipping_taxed(self, rate: TaxRate) -> bool:
        return rate.shipping_taxable
