from django.apps import AppConfig


class NewslettersConfig(AppConfig):
    name = "rupor.newsletters"
    label = "newsletters"

    def ready(self) -> None:
        # The inbox takes in every message and allow/deny event; opt-ins and unsubscribes are
        # read from them here (the inbox does not know newsletters exist).
        from rupor.inbox import service as inbox
        from rupor.newsletters import service

        inbox.listen_to_signals(service.on_signals)
