from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "kempelen.core"
    label = "core"
