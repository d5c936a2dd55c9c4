from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "kempelen.jobs"
    label = "jobs"
