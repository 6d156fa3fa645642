"""Tax rates by destination: a country, optionally a region in it (a US state, a
Canadian province), optionally a product category (a reduced rate or an exemption).
Whether catalog prices include tax is the PRICES_INCLUDE_TAX setting."""
from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django_countries.fields import CountryField
from django.utils.translation import gettext_lazy as _


class TaxRate(models.Model):
    country = CountryField(verbose_name=_("country"))
    region = models.CharField(
        max_length=10, blank=True, help_text=_("A region code as shoppers write it in the address (CA, NY, ON); empty: the whole country."), verbose_name=_("region")
    )
    category = models.ForeignKey(
        "catalog.Category", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text=_("Only products of this category (and its subcategories); empty: every product."), verbose_name=_("category"),
    )
    name = models.CharField(max_length=50, help_text=_('What the shopper reads, e.g. "VAT" or "Sales tax".'), verbose_name=_("name"))
    rate = models.DecimalField(
        _("rate (%)"), max_digits=5, decimal_places=2, validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("Percent, e.g. 19.00; 0 exempts."),
    )
    shipping_taxable = models.BooleanField(
        default=True, help_text=_("Shipping is taxed at this rate too (the rate without category decides)."), verbose_name=_("shipping taxable")
    )

    class Meta:
        ordering = ["country", "region", "category__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["country", "region", "category"], condition=Q(category__isnull=False), name="tax_rate_unique_with_category"
            ),
            models.UniqueConstraint(fields=["country", "region"], condition=Q(category__isnull=True), name="tax_rate_unique_general"),
            models.CheckConstraint(condition=Q(rate__gte=0) & Q(rate__lte=100), name="tax_rate_0_to_100"),
        ]
        verbose_name = _("tax rate")
        verbose_name_plural = _("tax rates")

    def __str__(self) -> str:
        where = f"{self.country.code}-{self.region}" if self.region else self.country.code
        return f"{self.name} {self.rate.normalize():f}% ({where}{', ' + str(self.category) if self.category_id else ''})"
