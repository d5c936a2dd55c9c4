from django.apps import AppConfig


class QualificationsConfig(AppConfig):
    name = "kempelen.qualifications"
    label = "qualifications"
