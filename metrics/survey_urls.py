"""Public one-click survey links: /survey/<token>/<score>/."""

from django.urls import path

from . import views

app_name = "survey"

urlpatterns = [
    path("<str:token>/<int:score>/", views.survey_answer_page, name="answer"),
]
