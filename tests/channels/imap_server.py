"""A real IMAP server for the tests: Debian's dovecot (`apt-get install dovecot-imapd`), started
in the foreground with a generated configuration in a temporary directory.

One server per test session, listening on 127.0.0.1 on a free port, plain IMAP (no SSL) and
cleartext logins allowed; each test adds a fresh account with a passwd-file of its own;
mail is kept in maildirs under the same directory.

As root, dovecot refuses to run its login processes or to access mail as root, so these run as
the `dovenull` and `dovecot` users the Debian package creates; as any other user, everything
runs as that user. Without the `dovecot` binary the tests that need it are skipped.
"""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

START_TIMEOUT = 15.0
_APPENDUID_RE = re.compile(rb"APPENDUID \d+ (\d+)")
# Login and anvil processes chroot by default, which only root may do; a test server needs no jail.
NO_CHROOT = "  chroot =\n"
# No growing delay after a failed login (a test fails one on purpose; the next must not wait).
NO_PENALTY = "  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n"


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.access(p, os.X_OK)), None
    )


def dovecot_version(binary: str) -> tuple[int, int]:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    match = re.match(r"(\d+)\.(\d+)", out.strip())
    if not match:
        raise RuntimeError(f"unexpected `dovecot --version` output: {out!r}")
    return int(match.group(1)), int(match.group(2))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class _Users:
    """Who the processes run as: internal services, login processes, and mail access."""

    internal: str
    internal_group: str
    login: str
    mail_uid: int
    mail_gid: int


def _users() -> _Users:
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        group = grp.getgrgid(os.getegid()).gr_name
        return _Users(me.pw_name, group, me.pw_name, me.pw_uid, me.pw_gid)
    try:
        mail = pwd.getpwnam("dovecot")
        pwd.getpwnam("dovenull")
    except KeyError:
        pytest.skip("running as root, but the dovecot/dovenull users of Debian's package are missing")
    return _Users("dovecot", grp.getgrgid(mail.pw_gid).gr_name, "dovenull", mail.pw_uid, mail.pw_gid)


def _config(version: tuple[int, int], root: Path, port: int, users: _Users) -> str:
    common = f"""\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
instance_name = firstline-test-{port}
default_internal_user = {users.internal}
default_internal_group = {users.internal_group}
default_login_user = {users.login}
first_valid_uid = {min(users.mail_uid, 500) or 1}
first_valid_gid = {min(users.mail_gid, 500) or 1}
ssl = no
auth_mechanisms = plain login
auth_failure_delay = 0
log_path = {root}/dovecot.log
"""
    if version >= (2, 4):  # new setting names and block syntax (not verified here: Debian 12 has 2.3)
        return f"""\
dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0
{common}auth_allow_cleartext = yes
mail_driver = maildir
mail_home = {root}/mail/%{{user}}
mail_path = ~/Maildir
passdb passwd-file {{
  passwd_file_path = {root}/users/%{{user}}
}}
userdb static {{
  fields {{
    uid = {users.mail_uid}
    gid = {users.mail_gid}
    home = {root}/mail/%{{user}}
  }}
}}
service imap-login {{
  inet_listener imap {{
    listen = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
{NO_CHROOT}}}
service anvil {{
{NO_CHROOT}{NO_PENALTY}}}
"""
    return f"""\
{common}disable_plaintext_auth = no
mail_location = maildir:{root}/mail/%u/Maildir
passdb {{
  driver = passwd-file
  args = username_format=%u {root}/users/%u
}}
userdb {{
  driver = static
  args = uid={users.mail_uid} gid={users.mail_gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
{NO_CHROOT}}}
service anvil {{
{NO_CHROOT}{NO_PENALTY}}}
"""


@dataclass
class ImapAccount:
    host: str
    port: int
    username: str
    password: str

    def connect(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4(self.host, self.port, timeout=10)
        conn.login(self.username, self.password)
        return conn

    def append(self, raw: bytes, folder: str = "INBOX") -> int:
        """Put a message into the mailbox (unread) as a mail server would; returns its UID."""
        conn = self.connect()
        try:
            typ, data = conn.append(folder, None, None, raw)
            assert typ == "OK", data
            match = _APPENDUID_RE.search(data[0] or b"")
            assert match, data
            return int(match.group(1))
        finally:
            conn.logout()

    def create_folder(self, name: str) -> None:
        conn = self.connect()
        try:
            typ, data = conn.create(name)
            assert typ == "OK", data
        finally:
            conn.logout()

    def seen(self, folder: str = "INBOX") -> dict[int, bool]:
        """UID -> whether the message is flagged \\Seen."""
        conn = self.connect()
        try:
            conn.select(folder, readonly=True)
            typ, data = conn.uid("FETCH", "1:*", "(UID FLAGS)")
            assert typ == "OK", data
            flags = {}
            for line in data:
                if isinstance(line, bytes) and (match := re.search(rb"UID (\d+)", line)):
                    flags[int(match.group(1))] = b"\\Seen" in line
            return flags
        finally:
            conn.logout()


@dataclass
class ImapServer:
    host: str
    port: int
    root: Path
    version: tuple[int, int]

    def add_account(self, password: str | None = None) -> ImapAccount:
        """A fresh user with an empty mailbox. Each user has a passwd-file of its own: dovecot
        caches a passwd-file it has read, and may miss an append in the same second."""
        username = f"desk-{uuid.uuid4().hex[:10]}"
        password = password or f"pw-{uuid.uuid4().hex}"
        path = self.root / "users" / username
        path.write_text(f"{username}:{{PLAIN}}{password}\n")
        path.chmod(0o644)
        return ImapAccount(self.host, self.port, username, password)

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _wait_until_listening(process: subprocess.Popen[bytes], server: ImapServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            raise RuntimeError(f"dovecot exited with {process.returncode}:\n{output}\n{server.log()}")
        try:
            with socket.create_connection((server.host, server.port), timeout=1) as sock:
                if sock.recv(100).startswith(b"* OK"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"dovecot did not answer on port {server.port}:\n{server.log()}")


@pytest.fixture(scope="session")
def imap_server() -> Iterator[ImapServer]:
    binary = dovecot_binary()
    if binary is None:
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd): IMAP tests skipped")
    version = dovecot_version(binary)
    users = _users()
    root = Path(tempfile.mkdtemp(prefix="firstline-imap-"))
    # As root, the mail and login processes run as other users: they must reach into the directory.
    root.chmod(0o711)
    (root / "mail").mkdir()
    (root / "users").mkdir(mode=0o755)
    if os.geteuid() == 0:
        os.chown(root / "mail", users.mail_uid, users.mail_gid)
    port = _free_port()
    (root / "dovecot.conf").write_text(_config(version, root, port, users))
    server = ImapServer("127.0.0.1", port, root, version)
    process = subprocess.Popen(
        [binary, "-F", "-c", str(root / "dovecot.conf")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        _wait_until_listening(process, server)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def imap_account(imap_server: ImapServer) -> ImapAccount:
    return imap_server.add_account()
