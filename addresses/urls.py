"""The address book, under /account/addresses/ (shop/urls.py)."""
from django.urls import path

from addresses import views

app_name = "addresses"

urlpatterns = [
    path("", views.address_list, name="list"),
    path("add/", views.add, name="add"),
    path("<int:address_id>/edit/", views.edit, name="edit"),
    path("<int:address_id>/delete/", views.delete, name="delete"),
    path("<int:address_id>/default/<str:kind>/", views.make_default, name="make_default"),
]
