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
    """The shared stack (deployed from infra/template.yaml), with every other state of the
    account wiped before each test (Stack.reset)."""
    running_stack.reset()
    return running_stack
