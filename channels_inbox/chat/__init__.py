"""Live chat: the embeddable widget, visitor and agent WebSockets, the bot, the agent console,
and video call links (README, "Live chat")."""
