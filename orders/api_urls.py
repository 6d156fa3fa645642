from django.urls import path

from orders import api

urlpatterns = [
    path("orders/", api.OrderListView.as_view(), name="order-list"),
    path("orders/<str:number>/", api.OrderDetailView.as_view(), name="order-detail"),
]
