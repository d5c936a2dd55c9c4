from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "kempelen.accounts"
    label = "accounts"
