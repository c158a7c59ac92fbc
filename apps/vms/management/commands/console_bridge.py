import asyncio
import signal

from django.core.management.base import BaseCommand

from apps.vms.console_bridge import serve


class Command(BaseCommand):
    help = (
        "Run the console bridge: the process that opens VMs' serial consoles (libvirt streams) and "
        "VNC displays for the panel's websocket consumers (docs/console.md). Listens on VMM_CONSOLE_BRIDGE."
    )

    def handle(self, *args, **options):
        asyncio.run(self._run())

    async def _run(self):
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)

        def ready(address):
            self.stdout.write(f"console bridge: listening on {address[0]}:{address[1]} (Ctrl-C stops it)")
            self.stdout.flush()

        try:
            await serve(ready)
        except asyncio.CancelledError:
            self.stdout.write("console bridge: stopped")
