from django.urls import path

from . import views, views_pages

app_name = "metrics"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("tickets/", views_pages.drilldown, name="tickets"),
    path("qa/", views_pages.qa_list, name="qa"),
    path("qa/<int:number>/", views_pages.qa_review, name="qa_review"),
    path("touchpoints/", views_pages.touchpoints, name="touchpoints"),
    path("forecast/", views_pages.forecast, name="forecast"),
]
