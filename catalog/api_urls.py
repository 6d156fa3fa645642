from django.urls import path

from catalog import api

urlpatterns = [
    path("products/", api.ProductListView.as_view(), name="product-list"),
    path("products/<slug:slug>/", api.ProductDetailView.as_view(), name="product-detail"),
]
