from django.apps import AppConfig


class HostsConfig(AppConfig):
    name = "apps.hosts"
    verbose_name = "Hypervisor hosts"

    def ready(self):
        from apps.hosts.health import connection_lost
        from apps.hosts.models import Host
        from apps.hosts.services import refresh_host
        from apps.jobs import registry
        from apps.virt import connection

        connection.add_close_listener(connection_lost)
        registry.register_operations(f"{self.name}.operations")
        registry.register_state_refresher(Host, refresh_host)
