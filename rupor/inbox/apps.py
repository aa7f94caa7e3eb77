from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "rupor.inbox"
    label = "inbox"

    def ready(self) -> None:
        # Keyword polls are counted from the comments the inbox collected (analytics sits below
        # the inbox, so it is handed the reader instead of importing it).
        from rupor.analytics import service as analytics
        from rupor.inbox import service

        analytics.provide_poll_comments(service.post_comments)
