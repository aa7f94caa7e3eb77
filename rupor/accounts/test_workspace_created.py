"""A new workspace starts with the default rubrics: accounts announces the creation
(``workspace_created``) and planning reacts, inside the creating transaction."""

from __future__ import annotations

import pytest

from rupor.accounts import service as accounts
from rupor.accounts.models import Workspace
from rupor.planning.models import Rubric
from rupor.planning.service import DEFAULT_RUBRICS


@pytest.mark.django_db
def test_a_new_workspace_has_the_default_rubrics(make_user):
    ws = accounts.create_workspace("Fresh", make_user())
    names = list(Rubric.objects.filter(workspace=ws).order_by("position").values_list("name", flat=True))
    assert names == [name for name, *_ in DEFAULT_RUBRICS]


@pytest.mark.django_db(transaction=True)
def test_a_failing_receiver_undoes_the_whole_creation(make_user):
    owner = make_user()

    def refuse(sender, **kwargs) -> None:
        raise RuntimeError("no room")

    accounts.workspace_created.connect(refuse, dispatch_uid="test.refuse")
    try:
        with pytest.raises(RuntimeError):
            accounts.create_workspace("Doomed", owner)
    finally:
        accounts.workspace_created.disconnect(dispatch_uid="test.refuse")
    assert not Workspace.objects.filter(name="Doomed").exists()
    assert not Rubric.objects.filter(workspace__name="Doomed").exists()
