from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "rupor.accounts"
    label = "accounts"
    verbose_name = "Accounts"
