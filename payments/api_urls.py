from django.urls import path

from payments import api

urlpatterns = [
    path("webhooks/stripe/", api.stripe_webhook, name="stripe-webhook"),
]
