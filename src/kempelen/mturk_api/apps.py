from django.apps import AppConfig


class MturkApiConfig(AppConfig):
    name = "kempelen.mturk_api"
    label = "mturk_api"
