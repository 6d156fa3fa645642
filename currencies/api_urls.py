from django.urls import path

from currencies import api

urlpatterns = [
    path("currencies/", api.CurrencyListView.as_view(), name="currencies"),
]
