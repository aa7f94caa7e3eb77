"""Publishing reacts to what happens to a channel (channels announces it and never imports
publishing): archiving a channel with posts cancels what has not gone out; a reconnection
releases the held targets."""

from __future__ import annotations

import pytest
from django.db import transaction

from rupor.accounts.roles import Role
from rupor.accounts.service import Actor
from rupor.channels import service as channels
from rupor.channels.models import Channel
from rupor.publishing import testing as pt
from rupor.publishing.models import PublicationTarget, TargetState
from rupor.publishing.transitions import transition

pytestmark = pytest.mark.django_db(transaction=True)


def test_removing_a_channel_with_posts_archives_it_and_cancels_its_targets():
    ws = pt.workspace()
    ch = pt.channel(ws, pt.scripted_access())
    target = pt.schedule(ch, "not yet out")

    channels.remove(Actor(ws.pk, Role.OWNER, label="owner@example.com"), ch.pk)

    assert Channel.objects.get(pk=ch.pk).status == Channel.Status.ARCHIVED
    assert PublicationTarget.objects.get(pk=target.pk).state == TargetState.CANCELLED


def test_a_reconnected_channel_releases_its_held_targets():
    ws = pt.workspace()
    ch = pt.channel(ws, pt.scripted_access())
    target = pt.schedule(ch, "held")
    with transaction.atomic():
        transition(target, TargetState.HELD, "the token expired")
        target.save()

    with transaction.atomic():
        channels.channel_reconnected.send(sender=Channel, channel_id=ch.pk)

    assert PublicationTarget.objects.get(pk=target.pk).state == TargetState.SCHEDULED
