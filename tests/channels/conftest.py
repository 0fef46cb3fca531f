"""The real IMAP server (dovecot) for the mailbox polling tests."""

from tests.channels.imap_server import imap_account, imap_server  # noqa: F401
