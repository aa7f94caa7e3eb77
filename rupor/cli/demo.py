"""The offline demo: emulated networks on local ports and a workspace whose channels use them."""

from __future__ import annotations

import datetime as dt
import importlib
import os
from typing import Any

from django.db import transaction

from rupor.core import clock
from rupor.networks import registry
from rupor.networks.emulation import RunningEmulator

DEMO_EMAIL = "demo@rupor.local"
DEMO_PASSWORD = "rupor-demo"  # a local, offline demo: the README says to not expose it
DEMO_WORKSPACE = "Rupor Demo"
#: Queue slots of every demo channel: weekday (Monday = 0) and local time.
DEMO_SLOTS = [(0, dt.time(10, 0)), (2, dt.time(10, 0)), (4, dt.time(10, 0)), (1, dt.time(18, 30)), (3, dt.time(18, 30))]


def _port_base() -> int:
    return int(os.environ.get("RUPOR_DEMO_PORT_BASE", "8901"))


def demo_urls() -> dict[str, str]:
    return {network: f"http://127.0.0.1:{_port_base() + i}" for i, network in enumerate(registry.NETWORKS)}


def _testing(network: str) -> Any | None:
    try:
        return importlib.import_module(f"rupor.networks.{network}.testing")
    except ImportError:
        return None


def start_emulators() -> list[RunningEmulator]:
    running = []
    urls = demo_urls()
    for network in registry.available():
        app = registry.emulator_factory(network)(seed=7, rate_limits=True)
        port = int(urls[network].rsplit(":", 1)[1])
        running.append(RunningEmulator(app, port=port).start())
    return running


def ensure_demo() -> dict[str, str]:
    from rupor.accounts import service as accounts
    from rupor.accounts.models import User, Workspace
    from rupor.channels import service as channels
    from rupor.channels.models import Channel
    from rupor.planning import service as planning
    from rupor.planning import slots

    with transaction.atomic():
        user = User.objects.filter(email=DEMO_EMAIL).first()
        if user is None:
            user = User.objects.create_user(DEMO_EMAIL, DEMO_PASSWORD, name="Demo Manager")
        workspace = Workspace.objects.filter(memberships__user=user, name=DEMO_WORKSPACE).first()
        if workspace is None:
            workspace = accounts.create_workspace(DEMO_WORKSPACE, user, timezone="Europe/Moscow")
        owner = accounts.actor_for_user(user, workspace)
        assert owner is not None
        urls = demo_urls()
        for network in registry.available():
            testing = _testing(network)
            if testing is None or Channel.live.filter(workspace=workspace, network=network).exists():
                continue
            channels.connect(
                owner,
                channels.ChannelInput(
                    network=network, name=f"{registry.DISPLAY_NAMES[network]} demo", remote_id=str(testing.DEMO_REMOTE_ID),
                    credentials=testing.demo_credentials(), base_url=urls[network],
                ),
                verify=False,
            )
        for channel in Channel.live.filter(workspace=workspace):
            if not channel.queue_slots.exists():  # a weekly rhythm, so "Add to queue" works at once
                for weekday, time in DEMO_SLOTS:
                    slots.add_slot(owner, channel.pk, weekday, time)
        if not workspace.posts.exists():
            demo_channels = list(Channel.live.filter(workspace=workspace))
            now = clock.now()
            samples = [
                ("Welcome to Rupor", "Hello from Rupor! This post goes out to every demo channel in two minutes.", dt.timedelta(minutes=2)),
                ("Weekly tips", "Three tips for a healthy content plan: mostly useful posts, regular rhythm, answer every question.", dt.timedelta(hours=3)),
                ("Poll idea", "Which topic should we cover next week?", None),
            ]
            for title, text, delay in samples:
                planning.create_post(
                    owner,
                    planning.PostInput(
                        title=title, text=text,
                        status="scheduled" if delay else "draft",
                        scheduled_at=(now + delay) if delay else None,
                        variants=tuple(planning.VariantInput(channel_id=c.pk) for c in demo_channels),
                    ),
                )
    return {"workspace": workspace.slug, "email": DEMO_EMAIL, "password": DEMO_PASSWORD}
