"""A job page subscribes to its job: the full history first, then every step as it happens."""

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from apps.jobs import runner
from apps.live.publish import job_group
from tests.live.conftest import connected, receive, session_cookie
from tests.vms.factories import vm_with_domain

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def stop_job(customer, test_host):
    """A queued vm_stop on a running VM of the customer (test driver: runs in this process)."""
    vm = vm_with_domain(customer, test_host)
    return runner.submit("vm_stop", vm, actor=customer, queue=False)


def kinds(messages):
    return [(m["type"], (m.get("step") or m.get("job"))["status"]) for m in messages]


async def test_subscribing_sends_the_jobs_history_then_every_step_live(customer_cookie, stop_job):
    communicator = await connected(customer_cookie)
    await communicator.send_json_to({"action": "subscribe", "job": str(stop_job.pk)})
    snapshot = await receive(communicator)
    assert snapshot["type"] == "job.snapshot"
    assert (snapshot["job"]["status"], snapshot["steps"]) == ("queued", [])

    await database_sync_to_async(runner.execute)(stop_job.pk)  # commits each step, publishes through Redis

    live = [await receive(communicator) for _ in range(6)]
    assert kinds(live) == [
        ("job.status", "running"),
        ("job.status", "running"),  # again once its steps are planned
        ("job.step", "running"),
        ("job.step", "running"),  # a line of detail on the running step
        ("job.step", "succeeded"),
        ("job.status", "succeeded"),
    ]
    assert live[2]["step"]["name"] == "Shut down the guest" and live[2]["job"] == str(stop_job.pk)
    await communicator.disconnect()


async def test_a_late_subscriber_gets_the_whole_finished_history(customer_cookie, stop_job):
    await database_sync_to_async(runner.execute)(stop_job.pk)
    communicator = await connected(customer_cookie)

    await communicator.send_json_to({"action": "subscribe", "job": str(stop_job.pk)})

    snapshot = await receive(communicator)
    assert snapshot["job"]["status"] == "succeeded" and snapshot["job"]["finished_at"]
    assert [(s["name"], s["status"], s["detail"]) for s in snapshot["steps"]] == [
        ("Shut down the guest", "succeeded", "the guest shut down")
    ]
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_another_tenants_job_is_not_found_and_its_events_never_arrive(stop_job, other_customer):
    communicator = await connected(await database_sync_to_async(session_cookie)(other_customer))

    await communicator.send_json_to({"action": "subscribe", "job": str(stop_job.pk)})
    assert await receive(communicator) == {"type": "error", "error": "not_found", "job": str(stop_job.pk)}

    await get_channel_layer().group_send(
        job_group(stop_job.pk), {"type": "job.step", "job": str(stop_job.pk), "step": {"status": "running"}}
    )
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_staff_may_watch_any_job_and_a_malformed_id_is_simply_not_found(admin_user, stop_job):
    communicator = await connected(await database_sync_to_async(session_cookie)(admin_user))
    await communicator.send_json_to({"action": "subscribe", "job": "not-a-uuid"})
    assert (await receive(communicator))["error"] == "not_found"
    await communicator.send_json_to({"action": "subscribe", "job": str(stop_job.pk)})
    assert (await receive(communicator))["type"] == "job.snapshot"
    await communicator.disconnect()
