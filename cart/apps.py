from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CartConfig(AppConfig):
    verbose_name = _("Cart")
    name = "cart"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from cart.session import merge_session_cart_on_login

        def merge_cart_on_login(sender, request, user, **kwargs) -> None:
            merge_session_cart_on_login(request, user)

        user_logged_in.connect(merge_cart_on_login, dispatch_uid="cart.merge_session_cart_on_login", weak=False)
