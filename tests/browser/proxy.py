"""A throw-away nginx (Debian's package) in front of the browser tests' panel (the `proxied`
fixture: test_prefix_proxy.py and the real-VM journey), configured as
docs/containers.md#behind-nginx-under-a-path-prefix says: its own config and files in a temporary
folder, on a free loopback port, in the foreground (no systemd, no pid file outside it)."""

from tests.browser import processes

CONFIG = """
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; "" close; }}
    server {{
        listen 127.0.0.1:{port};
{location}
    }}
}}
"""

# The block of docs/containers.md, with the panel's address filled in.
LOCATION = """
        location {prefix}/ {{
            proxy_pass http://{upstream};
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_read_timeout 1h;
            proxy_send_timeout 1h;
            client_max_body_size 0;
            proxy_request_buffering off;
        }}
"""


def start_nginx(tmp, upstream, prefix):
    """nginx proxying `prefix`/ to `upstream` (host:port); returns (process, its base URL)."""
    port = processes.free_port()
    conf = tmp / "nginx.conf"
    location = LOCATION.format(prefix=prefix, upstream=upstream)
    conf.write_text(CONFIG.format(tmp=tmp, port=port, location=location))
    nginx = processes.Process(["/usr/sbin/nginx", "-c", str(conf), "-p", str(tmp)], {}, tmp / "nginx.log")
    processes.wait_for_port(nginx, port)
    return nginx, f"http://127.0.0.1:{port}"
