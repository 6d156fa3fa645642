"""Signals other apps listen to, so the cart needs to know nothing about them."""
from django.dispatch import Signal

# Sent after the transaction that took a cart out of checkout without payment (cancelled
# or abandoned) has committed. Keyword argument: cart_id. Payments cancels the open
# PaymentIntent on it.
checkout_ended = Signal()
