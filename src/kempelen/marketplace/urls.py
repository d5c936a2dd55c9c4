"""Marketplace routes: downloads of workers' uploaded files (links from GetFileUploadURL)."""

from django.urls import path

from .views_files import download

urlpatterns = [
    path("files/<str:token>", download, name="uploaded-file"),
]
