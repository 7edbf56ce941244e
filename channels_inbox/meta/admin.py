from django.contrib import admin

from .models import WhatsAppTemplate


@admin.register(WhatsAppTemplate)
class WhatsAppTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "language", "category", "approved")
    list_filter = ("approved", "category", "language")
    list_editable = ("approved",)
    search_fields = ("name", "body")
