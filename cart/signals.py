"""Signals other apps listen to, so the cart needs to know nothing about them."""
from django.dispatch import Signal

# Sent after the transaction that took a cart out of checkout without payment (cancelled
# or abandoned) has committed. Keyword argument: cart_id. Payments cancels the open
# PaymentIntent on it.
checkout_ended = Signal()

# Sent inside the transaction that is about to take a cart out of checkout without
# payment (cancel, abandon), before the cart row is locked. Keyword argument: cart_id.
# A receiver may raise a ShopError to refuse (then nothing changes). Payments waits
# there for a payment request of the cart to finish and holds it off until commit, so
# no card is charged while the checkout ends.
checkout_ending = Signal()
