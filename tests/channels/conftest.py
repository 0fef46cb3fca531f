"""The real IMAP server (dovecot) for the mailbox polling tests, and the chat tests' agent."""

import pytest

from agents import routing
from agents import services as agents
from agents.models import Presence
from core import jobs, tenancy
from tests.channels.imap_server import imap_account, imap_server  # noqa: F401
from tests.factories import World


@pytest.fixture
def online(world: World) -> World:
    """Alpha's agent speaks German and English and is available."""
    with tenancy.system_scope():
        agents.set_languages(world.agent_alpha, {"de": "native", "en": "fluent"})
        routing.set_presence(world.agent_alpha, Presence.AVAILABLE)
        jobs.commit()
    return world
