from django.core.signals import request_finished
from django.dispatch import receiver

from apps.core.request_id import set_request_id


@receiver(request_finished, dispatch_uid="vmm_clear_request_id")
def clear_request_id(sender, **kwargs):
    set_request_id("-")
