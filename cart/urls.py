"""The cart's pages, at /cart/, and the currency selector's form target, /currency/.
(The cart page's checkout buttons post to the checkout app's /cart/checkout/ routes.)"""
from django.urls import path

from cart import views

app_name = "cart"

urlpatterns = [
    path("cart/", views.cart_detail, name="detail"),
    path("cart/add/<slug:slug>/", views.add, name="add"),
    path("cart/lines/<int:line_id>/", views.update_line, name="update_line"),
    path("cart/lines/<int:line_id>/remove/", views.remove_line, name="remove_line"),
    path("currency/", views.set_currency, name="set_currency"),
]
