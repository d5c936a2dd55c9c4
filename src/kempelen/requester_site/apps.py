from django.apps import AppConfig


class RequesterSiteConfig(AppConfig):
    name = "kempelen.requester_site"
    label = "requester_site"
