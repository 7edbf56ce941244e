from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.request_form, name="request"),
    path("thanks/", views.thanks, name="thanks"),
    path("embed/", views.request_form_embed, name="embed"),
    path("embed/thanks/", views.thanks_embed, name="embed_thanks"),
    path("login/", views.sign_in, name="login"),
    path("login/sent/", views.link_sent, name="link_sent"),
    path("login/password/", views.PasswordLoginView.as_view(), name="password_login"),
    path("login/link/<str:token>/", views.magic_login, name="magic_login"),
    path("request/<str:token>/", views.ticket_link, name="ticket_link"),
    path("language/", views.language_set, name="language"),
    path("logout/", views.PortalLogoutView.as_view(), name="logout"),
    path("tickets/", views.my_tickets, name="tickets"),
    path("tickets/<int:number>/", views.ticket_page, name="ticket"),
    path("tickets/<int:number>/solve/", views.ticket_solve, name="ticket_solve"),
    path("tickets/<int:number>/rate/", views.ticket_rate, name="ticket_rate"),
    path("tickets/<int:number>/attachments/<int:attachment_id>/", views.attachment_download, name="attachment"),
]
