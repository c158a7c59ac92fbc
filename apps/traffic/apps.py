from django.apps import AppConfig


class TrafficConfig(AppConfig):
    name = "apps.traffic"
    verbose_name = "Monthly traffic"

    def ready(self):
        from apps.jobs import registry
        from apps.traffic import enforcement

        registry.register_operations(f"{self.name}.operations")
        # Every minute (the jobs reconciler): copy the month's totals, warn, limit, lift.
        registry.register_housekeeping(enforcement.housekeeping)
