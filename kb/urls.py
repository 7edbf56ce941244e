from django.urls import path

from . import views

app_name = "kb"

urlpatterns = [
    path("", views.help_home, name="home"),
    path("search/", views.search, name="search"),
    path("c/<slug:slug>/", views.category_detail, name="category"),
    path("a/<slug:slug>/", views.article_detail, name="article"),
    path("a/<slug:slug>/feedback/", views.article_feedback, name="article_feedback"),
]
