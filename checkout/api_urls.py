from django.urls import path

from checkout import api

urlpatterns = [
    path("carts/", api.CartCreateView.as_view(), name="cart-create"),
    path("carts/<str:cart_id>/", api.CartDetailView.as_view(), name="cart-detail"),
    path("carts/<str:cart_id>/lines/", api.CartLinesView.as_view(), name="cart-lines"),
    path("carts/<str:cart_id>/lines/<str:line_id>/", api.CartLineDetailView.as_view(), name="cart-line"),
    path("carts/<str:cart_id>/stock/", api.CartStockView.as_view(), name="cart-stock"),
    path("carts/<str:cart_id>/checkout/", api.CheckoutView.as_view(), name="cart-checkout"),
    path("carts/<str:cart_id>/payment/", api.PaymentView.as_view(), name="cart-payment"),
    path("shipping-methods/", api.ShippingMethodsView.as_view(), name="shipping-methods"),
    path("orders/<str:number>/cancel/", api.OrderCancelView.as_view(), name="order-cancel"),
]
