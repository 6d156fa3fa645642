from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AddressesConfig(AppConfig):
    verbose_name = _("Addresses")
    name = "addresses"
    default_auto_field = "django.db.models.BigAutoField"
