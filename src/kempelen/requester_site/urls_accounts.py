"""Requester-site routes: accounts (included by ``requester_site.urls`` under ``/requester/``)."""

from django.urls import path

from . import views_placeholder

urlpatterns: list = [
    path("", views_placeholder.page, name="home"),
    path("login", views_placeholder.page, name="login"),
    path("logout", views_placeholder.page, name="logout"),
    path("signup", views_placeholder.page, name="signup"),
    path("account", views_placeholder.page, name="account"),
]
