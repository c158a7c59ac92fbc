from django.apps import AppConfig


class HostsConfig(AppConfig):
    name = "apps.hosts"
    verbose_name = "Hypervisor hosts"

    def ready(self):
        from apps.hosts.health import connection_lost
        from apps.virt import connection

        connection.add_close_listener(connection_lost)
