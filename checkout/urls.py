"""The checkout pages at /checkout/, the cart page's checkout buttons at /cart/checkout/
and its discount code form at /cart/discount/, and the order page's cancel button
(mounted at the site's root)."""
from django.urls import path

from checkout import views

app_name = "checkout"

urlpatterns = [
    path("checkout/", views.start, name="start"),
    path("checkout/address/", views.address, name="address"),
    path("checkout/shipping/", views.shipping, name="shipping"),
    path("checkout/payment/", views.payment, name="payment"),
    path("checkout/payment/discount/", views.apply_discount, name="apply_discount"),
    path("checkout/payment/discount/remove/", views.remove_discount, name="remove_discount"),
    path("checkout/complete/", views.complete, name="complete"),
    path("checkout/cancel/", views.cancel, name="cancel"),
    path("cart/checkout/", views.start_from_cart, name="start_from_cart"),
    path("cart/checkout/cancel/", views.cancel_from_cart, name="cancel_from_cart"),
    path("cart/discount/", views.apply_discount_from_cart, name="apply_discount_from_cart"),
    path("cart/discount/remove/", views.remove_discount_from_cart, name="remove_discount_from_cart"),
    path("orders/<str:number>/cancel/", views.cancel_order, name="cancel_order"),
]
