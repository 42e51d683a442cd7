"""The peer servers of bench_peers.py: what each installs, how it starts, how it is stopped.

Each peer runs from its own virtual environment (they pin protobuf and gRPC versions other than
Marquee's), created with uv and reused while its requirements stay the same. The scripts they run
are in `peers/`; they import nothing of Marquee's."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path

import onnxruntime

from marquee.local_stack import free_port
from recommender_server.onnx_runner import session_options

PEER_SCRIPTS = Path(__file__).resolve().parent / "peers"
# The peers run the same onnxruntime as Marquee; their own packages at the versions checked here
# (../shared/notes/FACTS.md).
ONNXRUNTIME = f"onnxruntime=={onnxruntime.__version__}"


@dataclass(frozen=True)
class Peer:
    environment: str
    requirements: tuple[str, ...]
    kind: str  # "triton", "mlserver" or "kserve"
    extra: tuple[str, ...] = field(default=())


PEERS: dict[str, Peer] = {
    "Triton (pytriton, Python backend)": Peer("triton", ("nvidia-pytriton==0.7.0", ONNXRUNTIME), "triton"),
    # MLServer 1.7.1's workers call asyncio.get_event_loop() outside a loop, which uvloop 0.22 and
    # later refuse ("There is no current event loop"): its last compatible uvloop, pinned.
    "MLServer (custom runtime)": Peer("mlserver", ("mlserver==1.7.1", "uvloop==0.21.0", ONNXRUNTIME), "mlserver"),
    "KServe (Python model server)": Peer("kserve", ("kserve==0.21.0", ONNXRUNTIME), "kserve"),
    "zero-compute mock (KServe)": Peer("kserve", ("kserve==0.21.0", ONNXRUNTIME), "kserve", ("--zeros",)),
}
MLSERVER_MAX_BATCH_TIME_S = 0.001  # adaptive batching's wait for a fuller batch


class PeerUnavailable(RuntimeError):
    """A peer that could not be installed or started; the message says why."""


def session_options_json() -> str:
    """Marquee's onnxruntime session options (one source: recommender_server.onnx_runner)."""
    options = session_options()
    return json.dumps(
        {
            "intra_op_num_threads": options.intra_op_num_threads,
            "inter_op_num_threads": options.inter_op_num_threads,
            "execution_mode": int(options.execution_mode),
            "graph_optimization_level": int(options.graph_optimization_level),
            "config_entries": {
                key: options.get_session_config_entry(key) for key in ("session.intra_op.allow_spinning",)
            },
        }
    )


def uv_command() -> str:
    beside = Path(sys.executable).with_name("uv")
    found = str(beside) if beside.is_file() else shutil.which("uv")
    if not found:
        raise PeerUnavailable("uv not found (make install puts it in .venv/bin)")
    return found


def environment(peer: Peer, root: Path, uv: str | None = None) -> Path:
    """The Python of the peer's own environment, installed on first use."""
    home = root / peer.environment
    python = home / "bin" / "python"
    marker = home / "marquee-requirements.json"
    wanted = sorted(peer.requirements)
    if python.is_file() and marker.is_file() and json.loads(marker.read_text()) == wanted:
        return python
    uv = uv or uv_command()
    print(f"installing {' '.join(wanted)} into {home} ...", flush=True)
    steps = (
        [uv, "venv", "--quiet", "--clear", "--python", sys.executable, str(home)],
        [uv, "pip", "install", "--quiet", "--python", str(python), *wanted],
    )
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            reason = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise PeerUnavailable(f"could not install {' '.join(wanted)}: {' / '.join(reason) or done.returncode}")
    marker.write_text(json.dumps(wanted))
    return python


@dataclass
class PeerProcess:
    process: subprocess.Popen
    address: str
    log: Path
    metrics_port: int | None = None

    def stop(self) -> None:
        """SIGTERM to the whole process group (Triton and MLServer start children), then SIGKILL."""
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _command(peer: Peer, python: Path, model_args: list[str], ports: dict[str, int], folder: Path) -> list[str]:
    port_args = [
        "--port",
        str(ports["grpc"]),
        "--http-port",
        str(ports["http"]),
        "--metrics-port",
        str(ports["metrics"]),
    ]
    if peer.kind == "mlserver":
        values = dict(zip(model_args[::2], model_args[1::2], strict=True))
        (folder / "sasrec").mkdir(parents=True, exist_ok=True)
        (folder / "settings.json").write_text(
            json.dumps({"grpc_port": ports["grpc"], "http_port": ports["http"], "metrics_port": ports["metrics"]})
        )
        settings = {
            "name": "sasrec",
            "implementation": "mlserver_runtime.SASRecRuntime",
            "max_batch_size": 256,
            "max_batch_time": MLSERVER_MAX_BATCH_TIME_S,
            "parameters": {
                "extra": {
                    "model": values["--model"],
                    "labels": values["--labels"],
                    "session_options": values["--session-options"],
                }
            },
        }
        (folder / "sasrec" / "model-settings.json").write_text(json.dumps(settings))
        return [str(python.with_name("mlserver")), "start", str(folder)]
    script = PEER_SCRIPTS / f"{peer.kind}_server.py"
    return [str(python), str(script), *model_args, *port_args, *peer.extra]


def start_peer(peer: Peer, root: Path, model: Path, labels: Path, options_json: str, folder: Path) -> PeerProcess:
    """Install (first time), start and wait until the model is ready, or raise PeerUnavailable."""
    import tritonclient.grpc as triton

    python = environment(peer, root)
    folder.mkdir(parents=True, exist_ok=True)
    ports = {name: free_port() for name in ("grpc", "http", "metrics")}
    items = len(labels.read_text().split())
    model_args = [
        "--model",
        str(model),
        "--labels",
        str(labels),
        "--session-options",
        options_json,
        "--items",
        str(items),
    ]
    if peer.kind == "mlserver":
        model_args = model_args[:-2]
    log = folder / "server.log"
    env = dict(os.environ, PYTHONPATH=str(PEER_SCRIPTS), PYTHONUNBUFFERED="1")
    if peer.kind == "triton":
        # Triton's Python-backend stub links libpython3.11 by soname; without this it may load the
        # system's copy (3.11.2 here) under this interpreter's newer standard library, and fail.
        libdir = sysconfig.get_config_var("LIBDIR") or ""
        env["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [libdir, os.environ.get("LD_LIBRARY_PATH")]))
    command = _command(peer, python, model_args, ports, folder)
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    running = PeerProcess(process, f"127.0.0.1:{ports['grpc']}", log, ports["metrics"])
    deadline = time.monotonic() + 240
    client = triton.InferenceServerClient(running.address)
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = " / ".join(log.read_text(errors="replace").strip().splitlines()[-3:])
                raise PeerUnavailable(f"exited with {process.returncode} while starting ({log}): {tail}")
            try:
                if client.is_model_ready("sasrec"):
                    return running
            except Exception:  # not listening yet: any transport error means "wait"
                pass
            time.sleep(0.5)
        running.stop()
        raise PeerUnavailable(f"not ready after 240 s (log: {log})")
    except BaseException:
        running.stop()
        raise
    finally:
        client.close()
