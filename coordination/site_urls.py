"""The steering committee's pages (impact, AHTU returns, trainings, action items) under the `coordination` namespace."""

from django.urls import path  # noqa: F401

app_name = "coordination"

urlpatterns = []
