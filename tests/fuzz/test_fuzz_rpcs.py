"""Every RPC of every server, fed hypothesis-generated requests and raw bytes: each call ends in a
status the RPC documents (never UNKNOWN or INTERNAL, never a timeout), and health answers
SERVING while each call runs. Seeded and bounded: the same calls on every run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import grpc
import pytest
from google.protobuf import message_factory, text_format
from google.protobuf.message import DecodeError, Message
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from hypothesis import HealthCheck, Phase, assume, example, given, settings
from hypothesis import strategies as st

from marquee.local_stack import LocalStack
from marquee.serving import shorten
from tests.fuzz.hostile_examples import extremes, one_field_at_a_time
from tests.fuzz.proto_strategies import MAX_REQUEST_BYTES, messages, mutations, raw_payloads
from tests.fuzz.rpc_targets import DOMAIN_SERVICES, Prober, Target, all_targets, served_services
from tests.fuzz.valid_requests import BASES

TARGETS = all_targets()
#: Examples per RPC; with ~40 RPCs this keeps the suite near a minute on two cores.
MESSAGE_EXAMPLES = 24
RAW_EXAMPLES = 8
UNIMPLEMENTED_EXAMPLES = 3
#: No shrinking: a failure is reported with its request as generated, in bounded time.
FUZZ = settings(
    max_examples=MESSAGE_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)


@dataclass(frozen=True)
class Sample:
    """The request(s) of one call, with a short repr (hypothesis prints it on failure), made only
    when needed: printing a message of several MiB takes seconds."""

    payloads: tuple[bytes, ...]
    requests: tuple[Message, ...] = ()

    def __repr__(self) -> str:
        if self.requests:
            return " | ".join(_describe(m) for m in self.requests)
        return " | ".join(f"{len(p)} bytes: {p[:48]!r}" for p in self.payloads)


def _describe(message: Message) -> str:
    return shorten(text_format.MessageToString(message, as_one_line=True), 600) or "(empty message)"


def _sample(batch: Sequence[Message]) -> Sample:
    return Sample(tuple(m.SerializeToString() for m in batch), tuple(batch))


def _explicit_samples(target: Target) -> list[Sample]:
    """The empty request, the valid one, every field at once at its extremes, and the valid one
    with one field at a time made hostile."""
    base = BASES.get(target.path)
    if base is None:
        return [_sample([m]) for m in extremes(target.method.input_type)]
    return [
        _sample([m])
        for m in (type(base)(), base, *extremes(target.method.input_type, base), *one_field_at_a_time(base))
    ]


@st.composite
def _message_samples(draw, target: Target) -> Sample:
    generated = messages(target.method.input_type)
    base = BASES.get(target.path)
    strategy = st.one_of(generated, mutations(base)) if base is not None else generated
    count = draw(st.integers(1, 2)) if target.method.client_streaming else 1
    return _sample([draw(strategy) for _ in range(count)])


@st.composite
def _raw_samples(draw, target: Target) -> Sample:
    base = BASES.get(target.path)
    valid = st.just(base) if base is not None else messages(target.method.input_type)
    return Sample((draw(raw_payloads(valid)),))


def _examples(prober: Prober, target: Target, wanted: int) -> int:
    """`wanted`, or a few for an RPC the server does not implement (it answers UNIMPLEMENTED to
    anything; a few calls show the payload cannot make it answer worse)."""
    outcome, _ = prober.call(target, [b""])
    return UNIMPLEMENTED_EXAMPLES if outcome.code == grpc.StatusCode.UNIMPLEMENTED else wanted


def _parses(target: Target, payload: bytes) -> bool:
    try:
        message_factory.GetMessageClass(target.method.input_type).FromString(payload)
    except DecodeError:
        return False
    return True


def _check(prober: Prober, stack: LocalStack, target: Target, sample: Sample) -> None:
    assume(sum(map(len, sample.payloads)) <= MAX_REQUEST_BYTES)
    outcome, health_problem = prober.call(target, sample.payloads)
    if not _parses(target, sample.payloads[0]):
        # Refused by the bootstrap before any servicer code, whatever the RPC; only a stream the
        # servicer never reads (an unimplemented one) ends otherwise.
        refused = outcome.code == grpc.StatusCode.INVALID_ARGUMENT and "does not parse" in outcome.details
        unread = target.method.client_streaming and outcome.code == grpc.StatusCode.UNIMPLEMENTED
        assert refused or unread, (
            f"{target}: an undecodable request got {outcome.code.name} {shorten(outcome.details, 300)!r}"
        )
    log_tail = ""
    if outcome.code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN):
        log_tail = "\nserver log tail:\n" + stack.processes[target.server].log_text()[-2500:]
    assert target.allows(outcome), f"{target}: {outcome.code.name} {shorten(outcome.details, 400)!r}{log_tail}"
    assert health_problem is None, f"{target}: while the call ran, {health_problem}"


@pytest.mark.parametrize("target", TARGETS, ids=str)
def test_generated_requests(target: Target, probers: dict[str, Prober], fuzz_stack: LocalStack) -> None:
    prober = probers[target.server]

    def fuzz(sample: Sample) -> None:
        _check(prober, fuzz_stack, target, sample)

    fuzz = given(_message_samples(target))(fuzz)
    for sample in _explicit_samples(target):
        fuzz = example(sample)(fuzz)
    settings(FUZZ, max_examples=_examples(prober, target, MESSAGE_EXAMPLES))(fuzz)()


@pytest.mark.parametrize("target", TARGETS, ids=str)
def test_random_bytes(target: Target, probers: dict[str, Prober], fuzz_stack: LocalStack) -> None:
    prober = probers[target.server]

    @settings(FUZZ, max_examples=_examples(prober, target, RAW_EXAMPLES))
    @given(_raw_samples(target))
    def fuzz(sample: Sample) -> None:
        _check(prober, fuzz_stack, target, sample)

    fuzz()


@pytest.mark.parametrize("server", sorted(DOMAIN_SERVICES))
def test_every_served_service_is_fuzzed(server: str, probers: dict[str, Prober]) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(probers[server].channel)
    (reply,) = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10)
    listed = sorted(service.name for service in reply.list_services_response.service)
    assert listed == sorted(served_services(server))
    fuzzed = {t.method.containing_service.full_name for t in TARGETS if t.server == server}
    assert fuzzed == set(listed)
