"""/agent/routing/ pages (included by helpdesk.urls under the namespace "routing")."""

from django.urls import path

from . import views

app_name = "routing"

urlpatterns = [
    path("offers/", views.offer_list, name="offers"),
    path("offers/<int:offer_id>/accept/", views.offer_accept, name="offer_accept"),
    path("offers/<int:offer_id>/decline/", views.offer_decline, name="offer_decline"),
]
