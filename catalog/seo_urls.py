"""Addresses for search engines and browsers: sitemap.xml, robots.txt, /favicon.ico."""
from django.contrib.sitemaps.views import sitemap
from django.urls import path

from catalog import seo_views
from catalog.sitemaps import SITEMAPS

urlpatterns = [
    path("sitemap.xml", sitemap, {"sitemaps": SITEMAPS}, name="sitemap"),
    path("robots.txt", seo_views.robots_txt, name="robots_txt"),
    path("favicon.ico", seo_views.favicon, name="favicon"),
]
