"""Each entry point without its extra says which extra to install (exit 2), not a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

# (entry module, a module of its extra, the extra, arguments)
CASES = [
    ("render_server", "PIL", "render", ["--help"]),
    ("layout_server", "openai", "layout", ["--help"]),
    ("recommender_server", "onnxruntime", "recommender", ["--help"]),
    ("client_tui", "PIL", "tui", ["run", "--watched", "Toy Story (1995)"]),
]
# Makes `import NAME` fail as if the package were not installed, then runs the entry point.
RUNNER = (
    "import runpy, sys; sys.modules[sys.argv[1]] = None; sys.argv = sys.argv[2:]; "
    "runpy.run_module(sys.argv[0], run_name='__main__')"
)


@pytest.mark.parametrize(("entry", "module", "extra", "args"), CASES)
def test_entry_point_names_the_missing_extra(entry: str, module: str, extra: str, args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", RUNNER, module, entry, *args], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert f"pip install 'marquee[{extra}]'" in result.stderr and module in result.stderr


def test_a_missing_module_of_marquee_itself_keeps_its_traceback() -> None:
    from marquee.extras import missing_extra

    error = ModuleNotFoundError("No module named 'render_server.gone'", name="render_server.gone")
    with pytest.raises(ModuleNotFoundError):
        missing_extra("python -m render_server", "render", error)
