"""The checkout pages at /checkout/, the cart page's checkout buttons at /cart/checkout/
and the order page's cancel button (mounted at the site's root)."""
from django.urls import path

from checkout import views

app_name = "checkout"

urlpatterns = [
    path("checkout/", views.start, name="start"),
    path("checkout/address/", views.address, name="address"),
    path("checkout/shipping/", views.shipping, name="shipping"),
    path("checkout/payment/", views.payment, name="payment"),
    path("checkout/payment/setup-intent/", views.setup_intent, name="setup_intent"),
    path("checkout/complete/", views.complete, name="complete"),
    path("checkout/cancel/", views.cancel, name="cancel"),
    path("cart/checkout/", views.start_from_cart, name="start_from_cart"),
    path("cart/checkout/cancel/", views.cancel_from_cart, name="cancel_from_cart"),
    path("orders/<str:number>/cancel/", views.cancel_order, name="cancel_order"),
]
