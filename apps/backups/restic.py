"""restic, the backup store (docs/backups.md): the panel runs Debian's `restic` command for
each repository, never a home-made store. No libvirt here: the jobs hand restic files the
driver has fetched (apps/backups/operations).

Contract:
- Every function takes a `BackupRepository` (its location and password) and raises
  `ResticError` with restic's own last lines of error output, never a bare CalledProcessError.
- The password goes to restic in its environment (`RESTIC_PASSWORD`), never on a command line
  or in a file; the cache is `VMM_RESTIC_CACHE_DIR`. An SFTP repository is reached through
  the ssh command of apps.backups.sftp (`-o sftp.command`), its key files in a private
  scratch directory that lives as long as the restic run.
- A restic run dies with the worker that started it (PR_SET_PDEATHSIG): a killed worker does
  not leave a backup writing on. A killed restic leaves a stale lock: `unlock()` removes
  stale locks only (of dead processes), and the jobs call it before they change a repository.
- `forget()` needs the repository's exclusive lock: while another VM's backup holds a lock it
  waits and tries again (restic 0.14 has no --retry-lock).
"""

import contextlib
import ctypes
import json
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time

from django.conf import settings

from apps.backups import sftp
from apps.backups.models import RepositoryKind
from apps.hosts.sshkey import SshKeyError

log = logging.getLogger("vmmanager.backups")

LOCKED = "repository is already locked"
SSH_SAYS = "subprocess ssh: "
SFTP_FAILED = "unable to start the sftp session"


class ResticError(Exception):
    pass


def _die_with_parent():
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _env(repository):
    cache = str(settings.VMM_RESTIC_CACHE_DIR)
    os.makedirs(cache, exist_ok=True)
    return {
        **os.environ,
        "RESTIC_REPOSITORY": repository.location,
        "RESTIC_PASSWORD": repository.password,
        "RESTIC_CACHE_DIR": cache,
        "RESTIC_PROGRESS_FPS": "0.2",
    }


@contextlib.contextmanager
def _command(repository, args):
    """(argv, env) of `restic <args>` for `repository`, valid inside the `with`."""
    if shutil.which("restic") is None:
        raise ResticError("restic is not installed on the panel's machine (Debian package restic)")
    if repository.kind != RepositoryKind.SFTP:
        yield ["restic", *args], _env(repository)
        return
    with tempfile.TemporaryDirectory(prefix="vmm-restic-") as scratch:
        try:
            command = sftp.ssh_command(repository, scratch)
        except SshKeyError as e:
            raise ResticError(str(e)) from e
        try:
            yield ["restic", "-o", f"sftp.command={command}", *args], _env(repository)
        except ResticError as e:
            raise _explained(e, command) from e


def _explained(error, command):
    """`error` with ssh's own reason when restic could not start its SFTP session: restic
    0.14 passes ssh's words on only while it runs, and drops what ssh says after restic has
    given up (all of it, or all but the first line of a changed host key's banner). ssh is
    run once more, alone, to hear them; its reason is added unless restic passed it on."""
    text = str(error)
    if SFTP_FAILED not in text:
        return error
    reason = sftp.why_not(command)
    return ResticError(f"{text}\n{SSH_SAYS}{reason}") if reason and reason not in text else error


def _fail(what, proc_stderr, code):
    # ssh's own last words (restic prefixes each line of its error output), then restic's.
    lines = (proc_stderr or "").strip().splitlines()
    # A changed host key's banner lines ("@@@...") say nothing: its reason comes after them.
    ssh = [line for line in lines if line.startswith(SSH_SAYS) and line[len(SSH_SAYS) :].strip("@ ")]
    tail = "\n".join(ssh[-2:] + [line for line in lines if not line.startswith(SSH_SAYS)][-5:])
    return ResticError(f"restic {what} failed: {tail or f'exit status {code}'}")


def run(repository, args, *, timeout=600, what=None, stdin=None, stdout=None):
    """Run `restic <args>` for `repository`; returns its output (text) unless `stdout` (a
    file) takes it. Raises ResticError."""
    what = what or args[0]
    started = time.monotonic()
    try:
        with _command(repository, args) as (argv, env):
            proc = subprocess.run(
                argv,
                stdin=stdin,
                stdout=stdout if stdout is not None else subprocess.PIPE,
                stderr=subprocess.PIPE,
                timeout=timeout,
                env=env,
                preexec_fn=_die_with_parent,
            )
            log.debug("restic %s exited %s in %.2fs", what, proc.returncode, time.monotonic() - started)
            if proc.returncode != 0:
                raise _fail(what, proc.stderr.decode(errors="replace"), proc.returncode)
    except subprocess.TimeoutExpired as e:
        raise ResticError(f"restic {what} took longer than {timeout:.0f} s and was stopped") from e
    return proc.stdout.decode(errors="replace") if stdout is None else ""


def is_initialized(repository):
    """Whether the repository exists (restic can read its config with the password). A
    wrong password raises ResticError."""
    try:
        run(repository, ["cat", "config"], timeout=120, what="cat config")
        return True
    except ResticError as e:
        text = str(e)
        if "Is there a repository at the following location?" in text or "does not exist" in text:
            return False
        raise


def init(repository):
    """Make the repository (a local directory is created). Raises ResticError."""
    run(repository, ["init"], timeout=300, what="init")


def ensure(repository):
    """Make the repository unless it exists; returns True when it was made."""
    if is_initialized(repository):
        return False
    init(repository)
    return True


def unlock(repository):
    """Remove stale locks (of restic processes that died)."""
    run(repository, ["unlock"], timeout=120, what="unlock")


def backup_file(repository, path, filename, tags, timeout=6 * 3600):
    """Store the bytes of the local file `path` as `filename` (restic's --stdin: deduplicated
    with every other disk in the repository), tagged `tags`. Returns restic's summary (its
    `snapshot_id`, `data_added`, `total_bytes_processed`...). Raises ResticError."""
    args = ["backup", "--json", "--stdin", "--stdin-filename", filename, "--host", "vmmanager"]
    for tag in tags:
        args += ["--tag", tag]
    with open(path, "rb") as source, tempfile.TemporaryFile() as out:
        run(repository, args, timeout=timeout, what="backup", stdin=source, stdout=out)
        out.seek(0)
        lines = out.read().decode(errors="replace").splitlines()
    return _summary(lines)


def _summary(lines):
    for line in reversed(lines):
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if message.get("message_type") == "summary":
            return message
    raise ResticError("restic backup did not report a summary")


def backup_patched(repository, base_snapshot_id, filename, changes, extents, tags, *, size, timeout=6 * 3600):
    """Store as `filename` (tagged `tags`) the data of `filename` in snapshot
    `base_snapshot_id` with the byte ranges `extents` ([(start, length)], sorted, not
    overlapping) taken from the local file `changes` instead: `restic dump` of the base piped
    through the patch into `restic backup --stdin`, so the repository gets the whole disk's
    raw data (deduplicated: only the changed chunks are new) while only the changes were
    copied from the host. The base must be `size` bytes long. Returns restic's summary like
    `backup_file`. Raises ResticError."""
    dump_args = ["dump", base_snapshot_id, "/" + filename.lstrip("/")]
    backup_args = ["backup", "--json", "--stdin", "--stdin-filename", filename, "--host", "vmmanager"]
    for tag in tags:
        backup_args += ["--tag", tag]
    deadline = time.monotonic() + timeout
    with contextlib.ExitStack() as stack:
        dump_argv, env = stack.enter_context(_command(repository, dump_args))
        backup_argv, _env2 = stack.enter_context(_command(repository, backup_args))
        out, dump_err, backup_err = (stack.enter_context(tempfile.TemporaryFile()) for _ in range(3))
        patch = stack.enter_context(open(changes, "rb"))
        dump = subprocess.Popen(
            dump_argv, stdout=subprocess.PIPE, stderr=dump_err, env=env, preexec_fn=_die_with_parent
        )
        store = subprocess.Popen(
            backup_argv, stdin=subprocess.PIPE, stdout=out, stderr=backup_err, env=env, preexec_fn=_die_with_parent
        )
        try:
            try:
                written = _patch_stream(dump.stdout, store.stdin, patch.fileno(), extents, deadline)
            except BrokenPipeError:
                written = None  # restic backup stopped reading: its exit status and words say why
                dump.kill()
            dump_code = dump.wait(timeout=max(1, deadline - time.monotonic()))
            if written is not None and (dump_code != 0 or written != size):
                store.send_signal(signal.SIGINT)  # before its input ends: no snapshot of a short disk, no lock left
            with contextlib.suppress(BrokenPipeError):
                store.stdin.close()
            store_code = store.wait(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired as e:
            raise ResticError(f"restic backup took longer than {timeout:.0f} s and was stopped") from e
        finally:
            for proc in (dump, store):
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            if store.returncode != 0:
                with contextlib.suppress(ResticError):
                    unlock(repository)  # a restic stopped early may leave its lock
        if written is None:
            backup_err.seek(0)
            raise _fail("backup", backup_err.read().decode(errors="replace"), store_code)
        if dump_code != 0:
            dump_err.seek(0)
            raise _fail("dump", dump_err.read().decode(errors="replace"), dump_code)
        if written != size:
            raise ResticError(f"the base backup holds {written} bytes, not the disk's {size}")
        if store_code != 0:
            backup_err.seek(0)
            raise _fail("backup", backup_err.read().decode(errors="replace"), store_code)
        out.seek(0)
        return _summary(out.read().decode(errors="replace").splitlines())


def _patch_stream(source, sink, patch_fd, extents, deadline, chunk=4 << 20):
    """Copy `source` to `sink`, the bytes of `extents` read from `patch_fd` instead (holes
    past its end read as zeros). Returns how many bytes went through."""
    buf = bytearray(chunk)
    view = memoryview(buf)
    pos, first = 0, 0
    while True:
        n = source.readinto(buf)
        if not n:
            return pos
        end = pos + n
        while first < len(extents) and extents[first][0] + extents[first][1] <= pos:
            first += 1
        i = first
        while i < len(extents) and extents[i][0] < end:
            lo, hi = max(extents[i][0], pos), min(extents[i][0] + extents[i][1], end)
            if lo < hi:
                data = os.pread(patch_fd, hi - lo, lo)
                view[lo - pos : lo - pos + len(data)] = data
                view[lo - pos + len(data) : hi - pos] = bytes(hi - lo - len(data))
            i += 1
        sink.write(view[:n])
        pos = end
        if time.monotonic() > deadline:
            raise ResticError("restic backup took too long and was stopped")


def snapshot_ids(repository, tag):
    """The full ids of the snapshots tagged `tag`, oldest first."""
    found = json.loads(run(repository, ["snapshots", "--json", "--tag", tag], timeout=300, what="snapshots") or "[]")
    return [s["id"] for s in found or []]


def dump_to_file(repository, snapshot_id, filename, local_path, timeout=6 * 3600):
    """Write file `filename` of snapshot `snapshot_id` to `local_path`, blocks of zeros left
    as holes (a disk's unused space takes no room). Returns the size. Raises ResticError."""
    with _command(repository, ["dump", snapshot_id, "/" + filename.lstrip("/")]) as (argv, env):
        proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, preexec_fn=_die_with_parent
        )
        return _sparse_copy(proc, local_path, timeout)


def _sparse_copy(proc, local_path, timeout):
    zero = bytes(1 << 20)
    size = 0
    deadline = time.monotonic() + timeout
    try:
        with open(local_path, "wb") as f:
            while True:
                chunk = proc.stdout.read(len(zero))
                if not chunk:
                    break
                if chunk == zero[: len(chunk)]:
                    f.seek(len(chunk), os.SEEK_CUR)
                else:
                    f.write(chunk)
                size += len(chunk)
                if time.monotonic() > deadline:
                    raise ResticError(f"restic dump took longer than {timeout:.0f} s and was stopped")
            f.truncate(size)
        stderr = proc.stderr.read().decode(errors="replace")
        code = proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if code != 0:
        raise _fail("dump", stderr, code)
    return size


def forget(repository, snapshot_ids, *, prune=True, wait=300):
    """Forget the snapshots `snapshot_ids` and (with `prune`) free the data no other
    snapshot uses. Waits up to `wait` s for another restic's lock. Raises ResticError."""
    args = ["forget", *snapshot_ids] + (["--prune"] if prune else [])
    deadline = time.monotonic() + wait
    while True:
        try:
            return run(repository, args, timeout=6 * 3600, what="forget")
        except ResticError as e:
            if LOCKED not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(2)


def forget_by_policy(repository, tags, *, keep_daily, keep_weekly, wait=300):
    """Forget the snapshots tagged `tags` (comma: all of them) but the newest of each of the
    last `keep_daily` days and `keep_weekly` weeks (one group: the tags' snapshots), then
    prune. Waits for another restic's lock like `forget`. Raises ResticError."""
    args = ["--tag", tags, "--group-by", "paths", "--keep-daily", str(keep_daily), "--keep-weekly", str(keep_weekly)]
    return forget(repository, args, prune=True, wait=wait)


def check(repository, read_data=False):
    """`restic check` (with `read_data`, every pack is read and verified). Raises ResticError."""
    return run(repository, ["check"] + (["--read-data"] if read_data else []), timeout=6 * 3600, what="check")


def stored_bytes(repository):
    """What the repository holds after deduplication and compression."""
    stats = json.loads(run(repository, ["stats", "--json", "--mode", "raw-data"], timeout=600, what="stats"))
    return stats.get("total_size", 0)
