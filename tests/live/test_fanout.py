"""Events reach every socket watching a group through one channel-layer membership per
process, in order, with nothing lost between a socket's snapshot and its live events."""

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from apps.jobs.models import Job
from apps.live import consumers
from apps.live.fanout import fanout
from apps.live.publish import job_group
from tests.live.conftest import connected, receive

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def job(customer):
    return Job.objects.create(kind="vm_start", owner=customer, target_repr="web-1", request_id="r-00000001")


def step_event(job, status):
    return {"type": "job.step", "job": str(job.pk), "step": {"position": 1, "name": "Start", "status": status}}


async def subscribed(cookie, job):
    communicator = await connected(cookie)
    await communicator.send_json_to({"action": "subscribe", "job": str(job.pk)})
    assert (await receive(communicator))["type"] == "job.snapshot"
    return communicator


async def test_two_pages_on_one_job_share_one_membership_and_both_get_each_event(customer_cookie, job):
    first, second = await subscribed(customer_cookie, job), await subscribed(customer_cookie, job)
    assert len(fanout().watchers[job_group(job.pk)]) == 2

    await get_channel_layer().group_send(job_group(job.pk), step_event(job, "running"))

    assert (await receive(first))["step"]["status"] == "running"
    assert (await receive(second))["step"]["status"] == "running"
    await first.disconnect()
    await get_channel_layer().group_send(job_group(job.pk), step_event(job, "succeeded"))
    assert (await receive(second))["step"]["status"] == "succeeded"
    await second.disconnect()
    assert fanout().watchers == {} and fanout().pump is None  # nothing left listening


async def test_an_event_committed_while_the_snapshot_is_read_follows_the_snapshot(customer_cookie, job, monkeypatch):
    real_history = consumers.job_history

    async def history_with_an_event_in_between(user_id, job_id):
        await get_channel_layer().group_send(job_group(job_id), step_event(job, "running"))
        await database_sync_to_async(lambda: None)()  # let the fan-out receive it meanwhile
        return await real_history(user_id, job_id)

    monkeypatch.setattr(consumers, "job_history", history_with_an_event_in_between)
    communicator = await connected(customer_cookie)

    await communicator.send_json_to({"action": "subscribe", "job": str(job.pk)})

    assert (await receive(communicator))["type"] == "job.snapshot"
    assert (await receive(communicator))["step"]["status"] == "running"
    await communicator.disconnect()
