"""Telegram channels and groups through a bot (Bot API 10.1): adapter, wire format, emulator."""
