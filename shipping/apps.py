from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShippingConfig(AppConfig):
    verbose_name = _("Shipping")
    name = "shipping"
    default_auto_field = "django.db.models.BigAutoField"
