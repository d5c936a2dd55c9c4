from django.apps import AppConfig


class WorkerSiteConfig(AppConfig):
    name = "kempelen.worker_site"
    label = "worker_site"
