"""What an entry point says when its optional dependencies are not installed.

`pip install marquee` brings only the shared core (gRPC, the contracts, the bootstrap); each
process needs its extra (`recommender`, `layout`, `render`, `tui`). Without it, a bare
ModuleNotFoundError traceback names a module a person may not know (PIL, onnxruntime, textual);
this names the extra and the command that installs it.
"""

from __future__ import annotations

import sys

#: Marquee's own packages: a module missing from these is a broken install, not a missing extra.
OWN_PACKAGES = frozenset({"marquee", "recommender_server", "layout_server", "render_server", "client_tui"})


def missing_extra(command: str, extra: str, error: ModuleNotFoundError) -> int:
    """Prints what to install for `error` and returns exit code 2; re-raises a missing module of
    Marquee's own (a packaging bug should keep its traceback)."""
    module = (error.name or "").split(".")[0]
    if not module or module in OWN_PACKAGES:
        raise error
    print(
        f"{command}: the '{module}' module is missing: this needs Marquee's '{extra}' extra. "
        f"Install it with: pip install 'marquee[{extra}]' (from a checkout: pip install -e '.[{extra}]')",
        file=sys.stderr,
    )
    return 2
