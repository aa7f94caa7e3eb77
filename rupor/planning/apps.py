from typing import Any

from django.apps import AppConfig


class PlanningConfig(AppConfig):
    name = "rupor.planning"
    label = "planning"

    def ready(self) -> None:
        # Every new workspace starts with the default rubrics; accounts announces the creation
        # and planning reacts, so accounts never imports planning (see ARCHITECTURE.md).
        from rupor.accounts import service as accounts
        from rupor.planning import service as planning
        from rupor.publishing import service as publishing

        accounts.workspace_created.connect(_default_rubrics, dispatch_uid="planning.default_rubrics")
        # The engine reads what to publish through publishing.service; planning provides it.
        publishing.provide_contents(
            publishing.ContentSource(one=planning.content_for_variant, text_only=planning.text_only_contents)
        )


def _default_rubrics(sender: object, *, workspace_id: int, **_kwargs: Any) -> None:  # noqa: ARG001 - Django passes signal receivers sender by keyword
    from rupor.planning.service import create_default_rubrics

    create_default_rubrics(workspace_id)
