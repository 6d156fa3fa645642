"""The customer's account pages under /account/ (sign-up, login and the rest of
django-allauth's flows are under /accounts/). Each part has its own URL module."""
from django.urls import include, path

app_name = "accounts"

urlpatterns = [
    path("", include("accounts.page_urls")),  # the account page, profile, my orders
    path("cards/", include("accounts.card_urls")),  # saved cards
    path("privacy/", include("accounts.privacy_urls")),  # data export, account deletion
]
