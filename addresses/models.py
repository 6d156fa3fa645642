"""The address book: a customer's saved addresses, in the shop's address shape
(docs/api.md: name, line1, line2, city, region, postal_code, country), with at most one
default shipping and one default billing address per customer (partial unique
constraints, so two requests at once cannot both win)."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from addresses.formatting import address_inline
from addresses.rules import ADDRESS_FIELDS


class SavedAddress(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_addresses", verbose_name=_("user"))
    name = models.CharField(max_length=200, verbose_name=_("name"))
    line1 = models.CharField(_("address line 1"), max_length=200)
    line2 = models.CharField(_("address line 2"), max_length=200, blank=True)
    city = models.CharField(max_length=200, blank=True, verbose_name=_("city"))
    region = models.CharField(_("state, province or region"), max_length=200, blank=True)
    postal_code = models.CharField(max_length=200, blank=True, verbose_name=_("postal code"))
    country = models.CharField(max_length=2, help_text=_("ISO 3166 alpha-2 code"), verbose_name=_("country"))
    is_default_shipping = models.BooleanField(_("default shipping address"), default=False)
    is_default_billing = models.BooleanField(_("default billing address"), default=False)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("saved address")
        verbose_name_plural = _("saved addresses")
        ordering = ["-is_default_shipping", "-is_default_billing", "-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(is_default_shipping=True), name="addresses_one_default_shipping_per_user"
            ),
            models.UniqueConstraint(
                fields=["user"], condition=Q(is_default_billing=True), name="addresses_one_default_billing_per_user"
            ),
        ]
        indexes = [models.Index(fields=["user", "-updated_at"], name="addresses_user_recent")]

    def __str__(self) -> str:
        return address_inline(self.as_address())

    def as_address(self) -> dict[str, str]:
        """The address in the API's shape, empty fields left out (as a cart stores it)."""
        return {key: getattr(self, key) for key in ADDRESS_FIELDS if getattr(self, key)}
