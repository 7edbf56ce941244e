"""Telegram: Bot API webhook in (X-Telegram-Bot-Api-Secret-Token), sendMessage out."""
