from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from cart.signals import checkout_ended, checkout_ending

        checkout_ending.connect(_hold_off_payments, dispatch_uid="payments.hold_off_payments")
        checkout_ended.connect(_cancel_open_intent, dispatch_uid="payments.cancel_open_intent")


def _hold_off_payments(sender, *, cart_id, **kwargs) -> None:
    from payments.services import hold_payment_lock_until_commit

    hold_payment_lock_until_commit(cart_id=cart_id)


def _cancel_open_intent(sender, *, cart_id, **kwargs) -> None:
    from payments.selectors import has_cancellable_intent
    from payments.tasks import cancel_payment_for_cart

    if has_cancellable_intent(cart_id):  # most ended checkouts never asked for payment
        cancel_payment_for_cart.delay(str(cart_id))
