"""The render server as a real process: `--help`, the tiny pipeline over gRPC, and SIGTERM
stopping a long job within the grace period while the stream ends with UNAVAILABLE."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from marquee.local_stack import LocalStack
from marquee.v1 import render_pb2, render_pb2_grpc
from tests.paths import TINY_PIPELINE
from tests.render_server.helpers import request

GRACE = 3.0
FAKE_TOKEN = "hf_NotARealTokenButShapedLikeOne123"


def test_help_documents_every_render_option() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "render_server", "--help"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    for flag in (
        "--engine",
        "--model",
        "--base-model",
        "--device",
        "--dtype",
        "--max-size",
        "--queue-depth",
        "--output-dir",
        "--torch-threads",
        "--preview-size",
        "MARQUEE_QUEUE_DEPTH",
        "HF_TOKEN",
    ):
        assert flag in out, flag


def test_bad_output_dir_is_a_configuration_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    done = subprocess.run(
        [sys.executable, "-m", "render_server", "--port", "0", "--output-dir", str(blocker / "out")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "cannot start" in done.stderr


def test_sigterm_stops_a_long_tiny_pipeline_job_within_the_grace_period(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    stack = LocalStack(
        {
            "render": [
                "--engine",
                "creatilayout",
                "--model",
                str(TINY_PIPELINE),
                "--torch-threads",
                "1",
                "--output-dir",
                str(tmp_path / "renders"),
            ]
        },
        tmp_path,
        grace_period=GRACE,
        env={"HF_TOKEN": FAKE_TOKEN},
    )
    stack.start(timeout=120)
    server = stack.processes["render"]
    try:
        with grpc.insecure_channel(server.address) as channel:
            stub = render_pb2_grpc.RenderServiceStub(channel)
            assert stub.DescribeEngine(render_pb2.DescribeEngineRequest(), timeout=5).engine == "creatilayout"
            # A short job first: the real pipeline answers through the process.
            done = list(stub.Render(request(steps=3, seed=1), timeout=60))
            assert done[-1].result.metadata.engine == "creatilayout"

            call = stub.Render(request(steps=200, width=256, height=256, preview_interval=0), timeout=120)
            for response in call:
                if response.HasField("progress") and response.progress.step >= 2:
                    break
            stack.terminate("render")
            with pytest.raises(grpc.RpcError) as stopped:
                for _ in call:
                    pass
            assert stopped.value.code() == grpc.StatusCode.UNAVAILABLE
            assert "shutting down" in stopped.value.details()
        assert server.process is not None
        assert server.process.wait(timeout=GRACE + 5) == 0
    finally:
        stack.stop()
    log = server.log_text()
    assert FAKE_TOKEN not in log
    events = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(e.get("event") == "stopping the running job for shutdown" for e in events)
    assert any(e.get("event") == "job finished" and e.get("stop_reason") == "shutdown" for e in events)
    # Stopped within the grace period, by the server's own deadline: the drain never had to warn
    # that the job outlived it, and the job ended long before its 200 steps.
    assert not any(e.get("event") == "the running job did not stop in time" for e in events)
    stopped = next(e for e in events if e.get("event") == "job finished" and e.get("stop_reason") == "shutdown")
    assert stopped["steps"] < stopped["total_steps"] == 200
