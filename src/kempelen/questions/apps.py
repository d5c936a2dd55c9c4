from django.apps import AppConfig


class QuestionsConfig(AppConfig):
    name = "kempelen.questions"
    label = "questions"
