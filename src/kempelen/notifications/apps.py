from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "kempelen.notifications"
    label = "notifications"
