"""Requester-site routes: accounts and money (included by ``requester_site.urls`` under ``/requester/``)."""

from django.urls import path

from . import views_accounts, views_money

urlpatterns: list = [
    path("", views_money.home, name="home"),
    # Signing up, in and out; passwords
    path("signup", views_accounts.signup, name="signup"),
    path("login", views_accounts.login, name="login"),
    path("logout", views_accounts.logout, name="logout"),
    path("password", views_accounts.password_change, name="password_change"),
    path("password/reset", views_accounts.password_reset, name="password_reset"),
    path("password/reset/sent", views_accounts.password_reset_done, name="password_reset_done"),
    path("password/reset/complete", views_accounts.password_reset_complete, name="password_reset_complete"),
    path("password/reset/<uidb64>/<token>", views_accounts.password_reset_confirm, name="password_reset_confirm"),
    # Balance and statement
    path("account", views_money.account, name="account"),
    path("account/statement.csv", views_money.statement_csv, name="statement_csv"),
    # API credentials
    path("account/credentials", views_accounts.credentials, name="credentials"),
    path("account/credentials/new", views_accounts.credential_create, name="credential_create"),
    path("account/credentials/<str:access_key_id>/revoke", views_accounts.credential_revoke,
         name="credential_revoke"),
]
