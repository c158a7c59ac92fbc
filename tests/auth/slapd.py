"""A throw-away OpenLDAP server (Debian's slapd) on 127.0.0.1 and a free port, its directory
in a temporary folder: no system service, nothing left behind once stopped."""

import socket
import subprocess
import time
from pathlib import Path

import ldap

SUFFIX = "dc=vmm,dc=test"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PASSWORD = "slapd-root-pw"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
STAFF_GROUP = f"cn=panel-staff,{GROUPS}"
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")

CONFIG = """\
{includes}
pidfile {dir}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
suffix "{suffix}"
rootdn "{root_dn}"
rootpw {root_pw}
directory {dir}/db
maxsize 10485760
"""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Slapd:
    def __init__(self, directory: Path):
        self.dir = directory
        self.port = free_port()
        self.uri = f"ldap://127.0.0.1:{self.port}"
        self.process = None

    def start(self):
        (self.dir / "db").mkdir(parents=True, exist_ok=True)
        includes = "\n".join(f"include /etc/ldap/schema/{name}.schema" for name in SCHEMAS)
        config = self.dir / "slapd.conf"
        config.write_text(
            CONFIG.format(includes=includes, dir=self.dir, suffix=SUFFIX, root_dn=ROOT_DN, root_pw=ROOT_PASSWORD)
        )
        # -d 0: stay in the foreground (this process owns it) and log nothing.
        self.process = subprocess.Popen(
            ["/usr/sbin/slapd", "-d", "0", "-h", f"{self.uri}/", "-f", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=open(self.dir / "slapd.log", "ab"),  # noqa: SIM115 (closed with the process)
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                self.connect().unbind_s()
                return self
            except ldap.SERVER_DOWN:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"slapd did not start: {(self.dir / 'slapd.log').read_text()}") from None
                time.sleep(0.1)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.kill()  # a throw-away directory: nothing to flush
            self.process.wait(timeout=10)

    def connect(self):
        conn = ldap.initialize(self.uri)
        conn.set_option(ldap.OPT_NETWORK_TIMEOUT, 2)
        conn.simple_bind_s(ROOT_DN, ROOT_PASSWORD)
        return conn

    def seed(self, people: dict[str, str], staff: list[str]):
        """The base entries, `people` (uid: password) and the staff group with `staff` in it
        (and the root DN: a groupOfNames may not be empty)."""
        conn = self.connect()
        try:
            conn.add_s(SUFFIX, _attrs(objectClass=["dcObject", "organization"], dc="vmm", o="vmm test"))
            conn.add_s(PEOPLE, _attrs(objectClass=["organizationalUnit"], ou="people"))
            conn.add_s(GROUPS, _attrs(objectClass=["organizationalUnit"], ou="groups"))
            for uid, password in people.items():
                conn.add_s(
                    self.user_dn(uid),
                    _attrs(
                        objectClass=["inetOrgPerson"],
                        uid=uid,
                        cn=uid.title(),
                        sn="Tester",
                        givenName=uid.title(),
                        mail=f"{uid}@example.com",
                        userPassword=password,
                    ),
                )
            conn.add_s(
                STAFF_GROUP,
                _attrs(objectClass=["groupOfNames"], cn="panel-staff", member=[ROOT_DN, *map(self.user_dn, staff)]),
            )
        finally:
            conn.unbind_s()

    def remove_from_staff(self, uid):
        self._change_staff(ldap.MOD_DELETE, uid)

    def add_to_staff(self, uid):
        self._change_staff(ldap.MOD_ADD, uid)

    def _change_staff(self, operation, uid):
        conn = self.connect()
        try:
            conn.modify_s(STAFF_GROUP, [(operation, "member", [self.user_dn(uid).encode()])])
        finally:
            conn.unbind_s()

    @staticmethod
    def user_dn(uid):
        return f"uid={uid},{PEOPLE}"


def _attrs(**values):
    as_lists = {key: value if isinstance(value, list) else [value] for key, value in values.items()}
    return [(key, [v.encode() for v in value]) for key, value in as_lists.items()]
