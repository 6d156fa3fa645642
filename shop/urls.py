from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from shop import views as shop_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("shop.api_urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("currency/", shop_views.set_currency, name="set_currency"),
    path("cart/", include("cart.urls")),
    path("checkout/", include("cart.checkout_urls")),
    path("orders/", include("orders.urls")),
    path("", include("catalog.urls")),
]

handler404 = "shop.views.not_found"
