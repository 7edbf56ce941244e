from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "agent"

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="registration/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("tickets/bulk/", views.bulk, name="bulk"),
    path("tickets/<int:number>/", views.ticket_detail, name="ticket"),
    path("tickets/<int:number>/reply/", views.ticket_reply_submit, name="ticket_reply"),
    path("tickets/<int:number>/fields/", views.ticket_fields_submit, name="ticket_fields"),
    path("tickets/<int:number>/merge/", views.ticket_merge_submit, name="ticket_merge"),
    path("tickets/<int:number>/attachments/<int:attachment_id>/", views.attachment_download, name="attachment"),
]
