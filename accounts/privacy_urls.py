"""The customer's data, under /account/privacy/: the page explaining both actions
(accounts:privacy), the download (accounts:privacy_export) and deleting the account
(accounts:privacy_delete)."""
from django.urls import path

from accounts import privacy_views

urlpatterns = [
    path("", privacy_views.privacy_page, name="privacy"),
    path("export/", privacy_views.export_page, name="privacy_export"),
    path("delete/", privacy_views.delete_page, name="privacy_delete"),
]
