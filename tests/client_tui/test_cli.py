"""`python -m client_tui run`: every documented exit code, each with one message and no
traceback, and the token never printed."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent import futures
from pathlib import Path

import grpc
import pytest

from client_tui.exit_codes import ExitCode
from client_tui.session import Session
from marquee.local_stack import LocalStack, free_port
from tests.client_tui.fake_servers import FakeStack, RenderBehaviour
from tests.real_stack import ONE_THREAD, cli_env, watched_flags

TOKEN = "tkn-9f8e7d6c5b4a"
RUN = [sys.executable, "-m", "client_tui", "run"]


def _flags(addresses: dict[str, str]) -> list[str]:
    return [arg for name, address in addresses.items() for arg in (f"--{name}", address)]


def run_cli(
    args: Sequence[str], timeout: float = 120, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*RUN, *args], capture_output=True, text=True, timeout=timeout, env=env or cli_env(), cwd=cwd
    )
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    return result


FLOW = [
    *watched_flags("Toy Story (1995)"),
    "--k",
    "3",
    "--planner",
    "offline",
    "--steps",
    "4",
    "--size",
    "256x256",
    "--seed",
    "7",
    "--preview-every",
    "2",
]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--size", "100x3"], "multiples of 16"),
        (["--k", "0"], "not between 1 and 10"),
        (["--steps", "many"], "not a whole number"),
        (["--wait", "-1"], "not between 0 and 86400 seconds"),
        (["--planner", "psychic"], "invalid choice"),
        ([], "give at least one --watched TITLE"),
        (["--watched", "x", "--tls-cert-file", "c.pem"], "must be given together"),
        (["--watched", "x", "--render", "nohost"], "--render"),
    ],
)
def test_bad_input_is_exit_2(args: list[str], message: str, module_fake_stack: FakeStack, tmp_path: Path) -> None:
    result = run_cli([*_flags(module_fake_stack.addresses()), *args, "--out", str(tmp_path / "out")])
    assert result.returncode == ExitCode.BAD_INPUT, result.stderr
    assert message in result.stderr


def test_unknown_title_and_bad_session_are_exit_2(module_fake_stack: FakeStack, tmp_path: Path) -> None:
    result = run_cli(
        [*_flags(module_fake_stack.addresses()), *watched_flags("Toy Story (2001)"), "--out", str(tmp_path)]
    )
    assert result.returncode == ExitCode.BAD_INPUT
    assert "'Toy Story (2001)' is not in the catalog. Closest: Toy Story (1995)" in result.stderr
    broken = tmp_path / "session.json"
    broken.write_text('{"format": "marquee.session", "k": 99}')
    result = run_cli([*_flags(module_fake_stack.addresses()), "--resume", str(broken)])
    assert result.returncode == ExitCode.BAD_INPUT and "is not a valid session: k:" in result.stderr
    result = run_cli([*_flags(module_fake_stack.addresses()), "--resume", str(tmp_path / "missing.json")])
    assert result.returncode == ExitCode.BAD_INPUT and "cannot read" in result.stderr


def test_a_session_with_nothing_to_continue_from_is_exit_2(module_fake_stack: FakeStack, tmp_path: Path) -> None:
    # No watched movies, no recommendations, an empty layout: no step can run.
    session = tmp_path / "session.json"
    session.write_text('{"format": "marquee.session", "layout": {"title": "t", "mood": "m", "objects": []}}')
    result = run_cli([*_flags(module_fake_stack.addresses()), "--resume", str(session)])
    assert result.returncode == ExitCode.BAD_INPUT, result.stderr
    assert f"{session} has no watched movies to continue from; start with --watched" in result.stderr


def test_unreachable_server_is_exit_3_and_the_token_is_never_printed(tmp_path: Path) -> None:
    port = free_port()
    addresses = {"recommender": f"127.0.0.1:{port}", "layout": f"127.0.0.1:{port}", "render": f"127.0.0.1:{port}"}
    result = run_cli([*_flags(addresses), *FLOW, "--auth-token", TOKEN, "--out", str(tmp_path)])
    assert result.returncode == ExitCode.UNAVAILABLE
    assert f"Cannot reach the recommender server at 127.0.0.1:{port}" in result.stderr
    assert "retrying" in result.stderr
    env = {**cli_env(), "MARQUEE_AUTH_TOKEN": TOKEN, "MARQUEE_RECOMMENDER_ADDR": f"127.0.0.1:{port}"}
    from_env = run_cli([*FLOW, "--out", str(tmp_path)], env=env)
    assert from_env.returncode == ExitCode.UNAVAILABLE
    for output in (result.stdout, result.stderr, from_env.stdout, from_env.stderr):
        assert TOKEN not in output


def test_unimplemented_server_is_exit_4(module_fake_stack: FakeStack, tmp_path: Path) -> None:
    bare = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    port = bare.add_insecure_port("127.0.0.1:0")
    bare.start()
    try:
        addresses = {**module_fake_stack.addresses(), "recommender": f"127.0.0.1:{port}"}
        result = run_cli([*_flags(addresses), *FLOW, "--out", str(tmp_path)])
    finally:
        bare.stop(None)
    assert result.returncode == ExitCode.SERVER_ERROR
    assert "does not implement ResolveTitles" in result.stderr


@pytest.fixture(scope="module")
def guarded_recommender(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[LocalStack]:
    """The real recommender, requiring a bearer token."""
    logs = tmp_path_factory.mktemp("guarded")
    stack = LocalStack(
        {"recommender": []},
        logs,
        env={**ONE_THREAD, "MARQUEE_AUTH_TOKEN": TOKEN, "MARQUEE_DATA_DIR": str(shared_data)},
        grace_period=2.0,
    )
    stack.start(timeout=180)
    yield stack
    stack.stop()


def test_missing_or_wrong_token_is_exit_5(
    guarded_recommender: LocalStack, module_fake_stack: FakeStack, tmp_path: Path
) -> None:
    addresses = {**module_fake_stack.addresses(), "recommender": guarded_recommender.addresses()["recommender"]}
    missing = run_cli([*_flags(addresses), *FLOW, "--out", str(tmp_path)])
    assert missing.returncode == ExitCode.AUTH
    assert "wants a token" in missing.stderr and "--auth-token or MARQUEE_AUTH_TOKEN" in missing.stderr
    wrong = run_cli([*_flags(addresses), *FLOW, "--auth-token", "not-" + TOKEN, "--out", str(tmp_path)])
    assert wrong.returncode == ExitCode.AUTH and "does not match" in wrong.stderr
    assert "not-" + TOKEN not in wrong.stderr + wrong.stdout
    # With the token the search passes (and the rest runs on the module_fake_stack, which ask for none).
    right = run_cli(
        [*_flags(addresses), *FLOW, "--out", str(tmp_path / "ok")], env={**cli_env(), "MARQUEE_AUTH_TOKEN": TOKEN}
    )
    assert right.returncode == ExitCode.OK, right.stderr
    assert TOKEN not in right.stderr + right.stdout + (tmp_path / "ok" / "session.json").read_text()


def test_unwritable_output_is_exit_6(module_fake_stack: FakeStack, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run_cli([*_flags(module_fake_stack.addresses()), *FLOW, "--out", str(blocker / "out")])
    assert result.returncode == ExitCode.OUTPUT
    assert f"cannot write into {blocker / 'out'}" in result.stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_cancel_is_exit_130_and_cancels_the_server_job(signum: int, tmp_path: Path) -> None:
    behaviour = RenderBehaviour(seconds_per_step=0.1)
    with FakeStack(behaviour) as stack:
        process = subprocess.Popen(
            [
                *RUN,
                *_flags(stack.addresses()),
                *watched_flags("Toy Story (1995)"),
                "--steps",
                "200",
                "--size",
                "64x64",
                "--out",
                str(tmp_path),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(),
        )
        # Signal once the render stream is flowing to the client (not after a guessed delay).
        for _ in range(1200):
            if behaviour.steps_sent >= 2 or process.poll() is not None:
                break
            time.sleep(0.05)
        process.send_signal(signum)
        _stdout, stderr = process.communicate(timeout=30)
        for _ in range(100):
            if behaviour.cancelled:
                break
            time.sleep(0.05)
    assert process.returncode == ExitCode.CANCELLED, stderr
    assert "cancelled" in stderr and "Traceback" not in stderr
    assert behaviour.cancelled == ["job-1"]
    # The steps before the render are kept, and the message says how to go on from them.
    saved = Session.load(tmp_path / "session.json")
    assert saved.layout is not None and saved.result is None
    assert f"--resume {(tmp_path / 'session.json').resolve()}" in stderr


def test_help_documents_the_exit_codes() -> None:
    result = run_cli(["--help"])
    assert result.returncode == 0
    for code in ExitCode:
        assert f"  {int(code):>3}  " in result.stdout
