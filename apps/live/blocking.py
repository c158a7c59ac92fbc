"""Blocking a user closes their open sockets at once, however the block was made (API,
admin, UI, a management command): a save that turns `is_active` off sends `disconnect_user`."""

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from apps.live.publish import disconnect_user


@receiver(pre_save, sender=get_user_model(), dispatch_uid="vmm_remember_was_active")
def remember_was_active(sender, instance, **kwargs):
    if instance.pk is None:
        instance._vmm_was_active = False
        return
    instance._vmm_was_active = sender.objects.filter(pk=instance.pk, is_active=True).exists()


@receiver(post_save, sender=get_user_model(), dispatch_uid="vmm_disconnect_blocked")
def disconnect_when_blocked(sender, instance, **kwargs):
    if getattr(instance, "_vmm_was_active", False) and not instance.is_active:
        disconnect_user(instance.pk)
