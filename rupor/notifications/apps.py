from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "rupor.notifications"
    label = "notifications"

    def ready(self) -> None:
        from rupor.accounts import service as accounts
        from rupor.notifications import service

        # A person hears when their two-factor sign-in is turned off or a recovery code is used.
        accounts.two_factor_event.connect(
            service.on_two_factor_event, dispatch_uid="notifications-two-factor"
        )
