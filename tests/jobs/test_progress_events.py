"""Each step is published on the job's channel-layer group after it is committed, so a live
view sees the steps in order as they start and end."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from apps.jobs import runner
from apps.live.publish import job_group
from tests.vms.factories import vm_with_domain


def drain(layer, channel, count):
    async def receive_all():
        return [await layer.receive(channel) for _ in range(count)]

    # One event loop for all receives: channels-redis keeps per-loop receive state.
    return async_to_sync(receive_all)()


def test_a_live_viewer_receives_every_step_and_status_in_order(customer, test_host, django_capture_on_commit_callbacks):
    layer = get_channel_layer()  # a fresh channel in the job's own group: nothing left from other tests
    vm = vm_with_domain(customer, test_host)
    job = runner.submit("vm_stop", vm, queue=False)
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(job_group(job.pk), channel)

    with django_capture_on_commit_callbacks(execute=True):
        runner.execute(job.pk)

    messages = drain(layer, channel, 6)
    kinds = [(m["type"], (m.get("step") or m.get("job"))["status"]) for m in messages]
    assert kinds == [
        ("job.status", "running"),
        ("job.status", "running"),  # again once its steps are planned
        ("job.step", "running"),
        ("job.step", "running"),  # a line of detail added to the running step
        ("job.step", "succeeded"),
        ("job.status", "succeeded"),
    ]
    assert messages[2]["step"]["name"] == "Shut down the guest"
    assert messages[3]["step"]["detail"] == "the guest shut down"
    assert messages[5]["job"]["finished_at"] is not None
