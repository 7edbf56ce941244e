from django.contrib import admin

from .models import ChatAgentStatus, ChatSession, ChatVisitor


@admin.register(ChatSession)
class ChatSessionAdmin(admin.ModelAdmin):
    list_display = ("id", "visitor", "ticket", "state", "agent", "started_at", "ended_at")
    list_filter = ("state",)
    raw_id_fields = ("visitor", "ticket", "agent")


@admin.register(ChatVisitor)
class ChatVisitorAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "email", "language", "connections", "last_seen_at")
    search_fields = ("name", "email")
    raw_id_fields = ("customer",)
    exclude = ("key",)


@admin.register(ChatAgentStatus)
class ChatAgentStatusAdmin(admin.ModelAdmin):
    list_display = ("user", "max_chats", "connections", "last_seen_at")
    raw_id_fields = ("user",)
