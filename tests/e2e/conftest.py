import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from harness import Stack  # noqa: E402


@pytest.fixture(scope="session")
def running_stack(tmp_path_factory):
    with Stack(workdir=tmp_path_factory.mktemp("stack")) as stack:
        yield stack


@pytest.fixture
def stack(running_stack):
    """The shared stack, with the emulator wiped before each test (and the notification topic
    and its queue created again, at the same ARN)."""
    running_stack.control("reset", {})
    running_stack.topic_arn, running_stack.queue_url = running_stack._notification_topic()
    return running_stack
