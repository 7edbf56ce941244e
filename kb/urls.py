from django.urls import path

from . import views

app_name = "kb"

urlpatterns = [
    path("", views.help_home, name="home"),
    path("search/", views.search, name="search"),
    path("c/<slug:slug>/", views.category_detail, name="category"),
    path("a/<slug:slug>/", views.article_detail, name="article"),
    path("a/<slug:slug>/feedback/", views.article_feedback, name="article_feedback"),
    path("r/<int:search_id>/<int:position>/<slug:slug>/", views.search_result_open, name="search_result"),
    path("files/<int:pk>/<str:filename>", views.attachment_download, name="file"),
    path("suggest/", views.suggest, name="suggest"),
    path("suggest/open/<slug:slug>/", views.suggest_open, name="suggest_open"),
    path("suggest/submitted/", views.suggest_submitted, name="suggest_submitted"),
    path("staff/analytics/", views.staff_analytics, name="staff_analytics"),
    path("staff/health/", views.staff_health, name="staff_health"),
    path("staff/health/reviewed/<int:pk>/", views.staff_article_reviewed, name="staff_article_reviewed"),
]
