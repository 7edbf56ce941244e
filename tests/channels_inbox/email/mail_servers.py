"""Real mail servers for the email tests: a throwaway Dovecot IMAP server and an aiosmtpd
SMTP server, both on loopback ports, both recording what a user (or a mail client) would see.

Dovecot runs from its own configuration file in a temporary folder (see TESTING.md): a static
passdb with one password for every user name, so each test logs in as a fresh user and gets
an empty maildir of its own.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

IMAP_PASSWORD = "imap-test-password"

DOVECOT_CONF = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
first_valid_uid = 1
first_valid_gid = 1
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or (os.path.exists("/usr/sbin/dovecot") and "/usr/sbin/dovecot") or None


def doveadm_binary() -> str:
    return shutil.which("doveadm") or "/usr/bin/doveadm"


class DovecotServer:
    """One Dovecot process with its own config, base dir, state, log and mail homes."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="helpdesk-dovecot-"))
        self.port = free_port()
        self.config = self.root / "dovecot.conf"

    def start(self) -> DovecotServer:
        dovecot_user = pwd.getpwnam("dovecot")
        # Dovecot's unprivileged processes must be able to reach the mail homes.
        os.chmod(self.root, 0o755)
        for name in ("run", "state", "home"):
            (self.root / name).mkdir()
        os.chown(self.root / "home", dovecot_user.pw_uid, dovecot_user.pw_gid)
        self.config.write_text(DOVECOT_CONF.format(root=self.root, port=self.port, password=IMAP_PASSWORD))
        binary = dovecot_binary()
        # Dovecot forks into the background: no pipes, or waiting for its output never ends.
        with open(self.root / "start.log", "wb") as out:
            subprocess.run(
                [binary, "-c", str(self.config)],
                check=True,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=30,
            )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"Dovecot did not listen on port {self.port}; log:\n{self.log()}")

    def log(self) -> str:
        texts = []
        for name in ("start.log", "dovecot.log"):
            path = self.root / name
            if path.exists():
                texts.append(path.read_text(errors="replace"))
        return "\n".join(texts) or "(no log)"

    def stop(self) -> None:
        subprocess.run(
            [doveadm_binary(), "-c", str(self.config), "stop"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=30,
            check=False,
        )
        pid_file = self.root / "run" / "master.pid"
        deadline = time.monotonic() + 10
        while pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        shutil.rmtree(self.root, ignore_errors=True)

    def client(self, user: str) -> imaplib.IMAP4:
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        imap.login(user, IMAP_PASSWORD)
        return imap

    def append(self, user: str, raw: bytes, folder: str = "INBOX") -> None:
        imap = self.client(user)
        try:
            status, data = imap.append(folder, "", None, raw)
            assert status == "OK", data
        finally:
            imap.logout()

    def messages(self, user: str, folder: str = "INBOX") -> list[tuple[int, set[str]]]:
        """(uid, flags) of every message in a folder."""
        imap = self.client(user)
        try:
            status, _data = imap.select(folder, readonly=True)
            if status != "OK":
                return []
            status, data = imap.uid("FETCH", "1:*", "(FLAGS)")
            result = []
            for line in data:
                if not line:
                    continue
                text = line.decode() if isinstance(line, bytes) else line[0].decode()
                uid = int(text.split("UID ")[1].split()[0].rstrip(")"))
                flags = set(text.split("FLAGS (")[1].split(")")[0].split())
                result.append((uid, flags))
            return sorted(result)
        finally:
            imap.logout()


def make_email(
    *,
    sender: str,
    subject: str,
    message_id: str,
    body: str = "Hello, my parcel has not arrived.",
    to: str = "support@helpdesk.test",
    **headers: str,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    msg["Date"] = "Mon, 03 Feb 2025 10:00:00 +0000"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)


@dataclass
class SmtpRecorder:
    """An aiosmtpd handler keeping every message it accepts. A recipient whose local part is
    `reject` is refused for good (550), `later` temporarily (451)."""

    received: list[ReceivedMail] = field(default_factory=list)
    port: int = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's hook name
        local = address.partition("@")[0].lower()
        if local == "reject":
            return "550 5.1.1 <reject@...>: Recipient address rejected: User unknown"
        if local == "later":
            return "451 4.3.0 Mailbox temporarily unavailable, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.received.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 20.0) -> list[ReceivedMail]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.received)
