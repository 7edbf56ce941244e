from django.urls import path

from . import views

app_name = "chat"

urlpatterns = [
    path("widget.js", views.widget_js, name="widget"),
    path("frame/", views.chat_frame, name="frame"),
    path("visitor/", views.visitor_start, name="visitor"),
    path("upload/", views.visitor_upload, name="upload"),
    path("file/<str:token>/", views.visitor_file, name="file"),
    path("demo/", views.demo_page, name="demo"),
    path("agent/", views.console, name="console"),
    path("agent/<int:session_id>/upload/", views.agent_upload, name="agent_upload"),
    path("video/<int:number>/", views.video_call, name="video"),
]
