"""Generates the Python code for `protos/marquee/v1/*.proto` (`make protos`).

The generated files are committed; `tests/marquee/test_protogen.py` regenerates them into a
temporary directory and fails when the committed ones differ.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import grpc_tools
from grpc_tools import protoc

PROTO_ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIR = PROTO_ROOT / "marquee" / "v1"


def proto_files() -> list[Path]:
    return sorted(PACKAGE_DIR.glob("*.proto"))


def generated_names() -> list[str]:
    """File names (relative to `marquee/v1`) that generation produces."""
    out: list[str] = []
    for proto in proto_files():
        stem = proto.stem
        out += [f"{stem}_pb2.py", f"{stem}_pb2.pyi", f"{stem}_pb2_grpc.py"]
    return out


def generate(out_dir: Path = PROTO_ROOT) -> None:
    """Writes `marquee/v1/*_pb2*.py[i]` under `out_dir`."""
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *[str(p.relative_to(PROTO_ROOT)) for p in proto_files()],
    ]
    (out_dir / "marquee" / "v1").mkdir(parents=True, exist_ok=True)
    # protoc resolves the relative proto paths against the include root.
    previous = os.getcwd()
    os.chdir(PROTO_ROOT)
    try:
        code = protoc.main(args)
    finally:
        os.chdir(previous)
    if code != 0:
        raise RuntimeError(f"protoc failed with exit code {code}")


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else PROTO_ROOT)
    print(f"generated {len(generated_names())} files in {PACKAGE_DIR}")
