import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from harness import Stack  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "slow(seconds): among the slowest end-to-end tests, about `seconds` each on the 2-core "
        "machine (2026-12-08); `make test-fast` leaves them out, `make test` runs them first",
    )


def pytest_collection_modifyitems(config, items):
    """The slow tests first, at the heads of the xdist workers' shares, longest first onto the
    least loaded: worksteal hands each worker a contiguous share of the collection and the
    others steal from its end, so a long test collected last (the fleet tests are) was a tail
    that one worker ran alone while the others idled."""
    def seconds(item):
        marker = item.get_closest_marker("slow")
        return marker.args[0] if marker and marker.args else 0

    slow = sorted((i for i in items if i.get_closest_marker("slow")), key=seconds, reverse=True)
    if not slow:
        return
    workers = config.getoption("numprocesses", None)
    workers = workers if isinstance(workers, int) and workers > 0 else 1
    rest = [i for i in items if not i.get_closest_marker("slow")]
    heads, load = [[] for _ in range(workers)], [0] * workers
    for item in slow:
        w = load.index(min(load))
        heads[w].append(item)
        load[w] += seconds(item)
    # Shares as xdist cuts them (equal contiguous parts); each starts with its slow tests.
    total, ordered, taken = len(items), [], 0
    for w in range(workers):
        size = (w + 1) * total // workers - w * total // workers
        fill = max(size - len(heads[w]), 0)
        ordered += heads[w] + rest[taken:taken + fill]
        taken += fill
    ordered += rest[taken:]
    items[:] = ordered


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
