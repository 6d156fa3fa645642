"""The checkout pages, mounted at /checkout/."""
from django.urls import path

from cart import checkout_views as views

app_name = "checkout"

urlpatterns = [
    path("", views.start, name="start"),
    path("address/", views.address, name="address"),
    path("shipping/", views.shipping, name="shipping"),
    path("payment/", views.payment, name="payment"),
    path("payment/setup-intent/", views.setup_intent, name="setup_intent"),
    path("complete/", views.complete, name="complete"),
    path("cancel/", views.cancel, name="cancel"),
]
