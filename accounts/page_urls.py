"""The account page and the customer's name, under /account/ (names accounts:home and
accounts:profile; accounts/urls.py gives the namespace)."""
from django.urls import path

from accounts import views

urlpatterns = [
    path("", views.home, name="home"),
    path("profile/", views.profile, name="profile"),
]
