"""Where the shop ships and at what price: zones of countries, each with its methods.
Prices are in the USD base; the cart converts them into its currency (invariant 5)."""
from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django_countries.fields import CountryField
from django.utils.translation import gettext, gettext_lazy as _

USD = dict(max_digits=12, decimal_places=2, validators=[MinValueValidator(0)])


class ShippingZone(models.Model):
    """A set of countries served alike. At most one zone is the rest of the world: it
    serves every country no other zone names. A country in no zone, with no rest-of-world
    zone, is one the shop does not ship to."""

    name = models.CharField(max_length=100, unique=True, verbose_name=_("name"))
    countries = CountryField(multiple=True, blank=True, verbose_name=_("countries"))
    rest_of_world = models.BooleanField(
        default=False, help_text=_("Serves every country that no other zone names."), verbose_name=_("rest of world")
    )
    position = models.PositiveIntegerField(default=0, verbose_name=_("position"))

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["rest_of_world"], condition=Q(rest_of_world=True), name="one_rest_of_world_zone"),
        ]
        verbose_name = _("shipping zone")
        verbose_name_plural = _("shipping zones")

    def __str__(self) -> str:
        return self.name


class ShippingMethod(models.Model):
    """A way to ship within a zone (standard, express, ...). Its code is what carts and
    the API name; the same code may exist in several zones at different prices."""

    zone = models.ForeignKey(ShippingZone, on_delete=models.CASCADE, related_name="methods", verbose_name=_("zone"))
    code = models.SlugField(max_length=32, verbose_name=_("code"))
    name = models.CharField(max_length=100, verbose_name=_("name"))
    price_usd = models.DecimalField(_("price (USD)"), **USD)
    free_over_usd = models.DecimalField(
        _("free from (USD)"), null=True, blank=True, **USD,
        help_text=_("Free when the subtotal after discounts reaches this amount; empty: never free."),
    )
    min_days = models.PositiveSmallIntegerField(_("delivery from (days)"), default=2)
    max_days = models.PositiveSmallIntegerField(_("delivery to (days)"), default=5)
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))
    position = models.PositiveIntegerField(default=0, verbose_name=_("position"))

    class Meta:
        ordering = ["zone__position", "zone__name", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["zone", "code"], name="shipping_method_code_per_zone"),
            models.CheckConstraint(condition=Q(min_days__lte=models.F("max_days")), name="shipping_method_days_in_order"),
        ]
        verbose_name = _("shipping method")
        verbose_name_plural = _("shipping methods")

    def __str__(self) -> str:
        return f"{self.name} ({self.zone.name})" if self.zone_id else self.name


class WeightStep(models.Model):
    """A price by weight: a parcel up to `up_to_grams` costs `price_usd`. A method with
    steps charges the first step its parcel fits; a heavier parcel cannot use it."""

    method = models.ForeignKey(ShippingMethod, on_delete=models.CASCADE, related_name="weight_steps", verbose_name=_("method"))
    up_to_grams = models.PositiveIntegerField(verbose_name=_("up to grams"))
    price_usd = models.DecimalField(_("price (USD)"), **USD)

    class Meta:
        ordering = ["method_id", "up_to_grams"]
        constraints = [models.UniqueConstraint(fields=["method", "up_to_grams"], name="weight_step_unique")]
        verbose_name = _("weight step")
        verbose_name_plural = _("weight steps")

    def __str__(self) -> str:
        return gettext("up to %(grams)s g: $%(price)s") % {"grams": self.up_to_grams, "price": self.price_usd}
