"""VKontakte: community walls, comments, messages and statistics over the VK API (v5.199)."""
