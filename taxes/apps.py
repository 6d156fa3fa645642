from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TaxesConfig(AppConfig):
    verbose_name = _("Taxes")
    name = "taxes"
    default_auto_field = "django.db.models.BigAutoField"
