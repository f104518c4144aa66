from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, run_qa_bot


@pytest.fixture(scope="session")
def example_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example releases, ingested by the real CLI with the default embedder."""
    store = tmp_path_factory.mktemp("ui") / "store"
    done = run_qa_bot("ingest", str(EXAMPLES), "--store", str(store))
    assert done.returncode == 0, done.stderr
    return store
