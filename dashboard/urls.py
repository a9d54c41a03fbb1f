from __future__ import annotations

from django.urls import path

from dashboard import batches, playground, views

app_name = "dashboard"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("latency/", views.latency, name="latency"),
    path("errors/", views.errors, name="errors"),
    path("errors/<int:group_id>/", views.error_group, name="error_group"),
    path("ensembles/", views.ensembles, name="ensembles"),
    path("patterns/", views.patterns, name="patterns"),
    path("history/", views.history, name="history"),
    path("history/<str:request_id>/", views.history_detail, name="history_detail"),
    path("playground/", playground.playground, name="playground"),
    path("playground/stream", playground.playground_stream, name="playground_stream"),
    path("batches/", batches.batch_list, name="batches"),
    path("batches/<str:batch_id>/", batches.batch_detail, name="batch_detail"),
    path("files/<str:file_id>/", batches.batch_file, name="batch_file"),
]
