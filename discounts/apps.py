from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DiscountsConfig(AppConfig):
    verbose_name = _("Discounts")
    name = "discounts"
    default_auto_field = "django.db.models.BigAutoField"
