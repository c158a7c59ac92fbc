from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "apps.webhooks"
    verbose_name = "Webhooks"

    def ready(self):
        from apps.jobs import registry
        from apps.webhooks import delivery, receivers

        receivers.connect()
        # Deliveries whose next try is due are sent again by the jobs reconciler (every minute).
        registry.register_housekeeping(delivery.deliver_due)
