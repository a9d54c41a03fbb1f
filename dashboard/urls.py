from __future__ import annotations

from django.urls import path

from dashboard import playground, views

app_name = "dashboard"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("latency/", views.latency, name="latency"),
    path("errors/", views.errors, name="errors"),
    path("errors/<int:group_id>/", views.error_group, name="error_group"),
    path("history/", views.history, name="history"),
    path("history/<str:request_id>/", views.history_detail, name="history_detail"),
    path("playground/", playground.playground, name="playground"),
    path("playground/stream", playground.playground_stream, name="playground_stream"),
]
