from django.urls import path

from cart import views

app_name = "cart"

urlpatterns = [
    path("", views.cart_detail, name="detail"),
    path("lines/<int:line_id>/", views.update_line, name="update_line"),
    path("lines/<int:line_id>/remove/", views.remove_line, name="remove_line"),
    path("checkout/", views.checkout_start, name="checkout_start"),
    path("checkout/cancel/", views.checkout_cancel, name="checkout_cancel"),
]
