from django.contrib.auth import views as auth_views
from django.urls import path

from . import views
from .views import directory as directory_views

app_name = "agent"

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="registration/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("tickets/bulk/", views.bulk, name="bulk"),
    path("views/", views.saved_view_create_submit, name="saved_view_create"),
    path("views/<int:pk>/", views.saved_view_update_submit, name="saved_view_update"),
    path("tickets/<int:number>/", views.ticket_detail, name="ticket"),
    path("tickets/<int:number>/live/", views.ticket_live, name="ticket_live"),
    path("tickets/<int:number>/reply/", views.ticket_reply_submit, name="ticket_reply"),
    path("tickets/<int:number>/fields/", views.ticket_fields_submit, name="ticket_fields"),
    path("tickets/<int:number>/merge/", views.ticket_merge_submit, name="ticket_merge"),
    path("tickets/<int:number>/links/", views.ticket_link_submit, name="ticket_link"),
    path("tickets/<int:number>/links/<int:link_id>/delete/", views.ticket_unlink_submit, name="ticket_unlink"),
    path("tickets/<int:number>/attachments/<int:attachment_id>/", views.attachment_download, name="attachment"),
    path("customers/", views.customer_directory, name="customers"),
    path("customers/<int:pk>/", views.customer_profile, name="customer"),
    path("customers/<int:pk>/edit/", views.customer_edit_submit, name="customer_edit"),
    path("customers/duplicates/", views.customer_duplicates, name="customer_duplicates"),
    path("customers/<int:pk>/merge/", directory_views.customer_merge_page, name="customer_merge"),
    path("customers/<int:pk>/merge/confirm/", directory_views.customer_merge_submit, name="customer_merge_confirm"),
    path(
        "customers/<int:pk>/merge/<int:record_id>/undo/",
        directory_views.customer_merge_undo_submit,
        name="customer_merge_undo",
    ),
    path("organizations/", views.organization_directory, name="organizations"),
    path("organizations/<int:pk>/", views.organization_profile, name="organization"),
]
