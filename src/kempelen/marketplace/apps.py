from django.apps import AppConfig


class MarketplaceConfig(AppConfig):
    name = "kempelen.marketplace"
    label = "marketplace"
