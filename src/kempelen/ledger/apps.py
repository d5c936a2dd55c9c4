from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "kempelen.ledger"
    label = "ledger"
