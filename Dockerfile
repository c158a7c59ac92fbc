# vmmanager: one image for every process of the panel (docs/containers.md).
#   web        migrate, then daphne on $VMM_PORT (default 8000)
#   worker     the django-q2 job cluster
#   collector  the statistics collector
#   watcher    the host watcher (one active instance per deployment)
#   manage ... any manage.py command, e.g. `manage host key`
# Built from debian:bookworm-slim only (no other base image is reachable where we build).

# --- build stage: the venv, with libvirt-python compiled against Debian's libvirt --------
FROM debian:bookworm-slim AS build
# Package versions follow Debian 12 and its security updates; pinning them would break
# the build at every point release.
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-venv python3-dev gcc pkg-config libvirt-dev libldap-dev libsasl2-dev \
    && rm -rf /var/lib/apt/lists/*
# Requirements before the source: a code change does not reinstall packages.
# An optional build secret "ca" is a CA bundle for HTTPS behind an intercepting proxy
# (scripts/container-image.sh passes the machine's); it never ends up in the image.
COPY requirements.txt /tmp/requirements.txt
RUN --mount=type=secret,id=ca \
    python3 -m venv /opt/venv \
    && if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi \
    && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check -r /tmp/requirements.txt

# --- runtime stage ------------------------------------------------------------------------
FROM debian:bookworm-slim
# libvirt client library and virsh; ssh for qemu+ssh:// hosts; qemu-img and libguestfs
# (with a kernel for its appliance) for the workers' disk work; cloud-localds for seeds;
# the OpenLDAP client library for python-ldap (LDAP for staff); restic for backups.
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 libvirt0 libldap-2.5-0 libsasl2-2 libvirt-clients openssh-client ca-certificates \
        qemu-utils libguestfs-tools linux-image-amd64 cloud-image-utils zstd restic \
    && rm -rf /var/lib/apt/lists/*
# The panel runs as vmm (uid 10001). libguestfs builds its appliance from the kernel, which
# Debian installs readable by root only.
RUN chmod 0644 /boot/vmlinuz-* \
    && useradd --uid 10001 --user-group --home-dir /home/vmm --create-home --shell /usr/sbin/nologin vmm \
    && mkdir -p /data /home/vmm/.cache \
    && ln -s /data/pki /home/vmm/.pki \
    && chown vmm:vmm /data /home/vmm/.cache
COPY --from=build /opt/venv /opt/venv
# ssh refuses a config file others may write to; the checkout's mode depends on its umask.
COPY --chmod=0644 docker/ssh_config /etc/ssh/ssh_config.d/vmmanager.conf

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VMM_DATA_DIR=/data \
    VMM_STATIC_ROOT=/app/static-root \
    VMM_BIND=0.0.0.0 \
    VMM_PORT=8000 \
    LIBGUESTFS_BACKEND=direct \
    LIBGUESTFS_BACKEND_SETTINGS=force_tcg

WORKDIR /app
COPY . /app
# Static files are collected into the image (whitenoise serves them); the throw-away
# data dir and key only exist for this build step.
RUN SECRET_KEY=collectstatic-only VMM_DATA_DIR=/tmp/build-data python3 manage.py collectstatic --noinput -v 0 \
    && rm -rf /tmp/build-data \
    && chmod 0755 /app/docker/entrypoint.sh /app/docker/healthcheck.py

USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 CMD ["/app/docker/healthcheck.py"]
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["web"]
