"""The operations snapshot (docs/operations.md): workers, queues, lag, errors and disk, as the
operations page shows them. The workspace's own figures, plus the instance's workers and
RUPOR_HOME; for owners and admins (``workspace.manage``)."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.http import HttpRequest
from ninja import Router

from rupor.accounts.roles import Perm
from rupor.api.auth import need as _need
from rupor.api.errors import ERRORS
from rupor.operations.snapshot import operations_snapshot

router = Router(tags=["operations"])


@router.get(
    "/operations",
    response={200: dict[str, Any], **ERRORS},
    summary="Workers, queues, collection and intake lag, last errors per channel, disk used",
)
def operations(request: HttpRequest) -> Any:
    who = _need(request, Perm.WORKSPACE_MANAGE)
    data = dataclasses.asdict(operations_snapshot(who.workspace_id))
    data["home"].pop("path", None)  # where RUPOR_HOME lies on the server is the operator's business
    return data
