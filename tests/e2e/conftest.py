"""Fixtures of the end-to-end tests: the real servers once per session, in this process (the
sweep) and as processes (README commands, a few sets through the CLI). The assembly lives in
`tests.e2e.inprocess_stack`; these fixtures only wire it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from marquee.local_stack import LocalStack
from marquee.v1 import recommender_pb2_grpc
from tests.e2e.client_runs import client_environment
from tests.e2e.inprocess_stack import InProcessStack
from tests.e2e.watched_sets import MovieLensData
from tests.real_stack import offline_draft_stack


@pytest.fixture(scope="session")
def movielens(shared_data: Path) -> MovieLensData:
    return MovieLensData(shared_data)


@pytest.fixture(scope="session")
def inprocess_stack(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[InProcessStack]:
    stack = InProcessStack(shared_data, tmp_path_factory.mktemp("e2e-inprocess")).start()
    yield stack
    codes = stack.stop()
    assert codes == {"recommender": 0, "layout": 0, "render": 0}, f"servers did not stop cleanly: {codes}"


@pytest.fixture(scope="session")
def recommender_stub(inprocess_stack: InProcessStack) -> Iterator[recommender_pb2_grpc.RecommenderServiceStub]:
    with grpc.insecure_channel(inprocess_stack.addresses()["recommender"]) as channel:
        yield recommender_pb2_grpc.RecommenderServiceStub(channel)


@pytest.fixture(scope="session")
def process_stack(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[LocalStack]:
    """The three servers as `python -m <server>` processes: draft engine, no LLM."""
    logs = tmp_path_factory.mktemp("e2e-processes")
    stack = offline_draft_stack(logs, shared_data)
    stack.start(timeout=240)
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def operator_env(process_stack: LocalStack) -> dict[str, str]:
    """An operator's environment pointing the client at the server processes."""
    return client_environment(process_stack.addresses())
