"""The headless flow's checkpoints: `session.json` written into the output folder (atomically)
after every completed step, so that a failure at any step loses nothing and `--resume` continues
from the next step; and the exact command that does so."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from client_tui.connections import SERVERS
from client_tui.export import FILE_NAMES, ExportError
from client_tui.images import png_bytes
from client_tui.session import Session
from client_tui.summary import SummaryImages
from marquee.atomic_files import atomic_write_bytes, atomic_write_text

PROG = "python -m client_tui run"
#: Transport flags worth repeating in the resume command (never --auth-token: it is a secret).
_REPEATED_FLAGS = (*SERVERS, "tls_ca_file", "tls_cert_file", "tls_key_file", "tls_server_name")


def next_step(session: Session) -> str:
    """The first step a session still lacks: "recommend", "plan", "render" or "export"; a
    finished session ("done") renders again when resumed."""
    if not session.recommendations:
        return "recommend"
    if session.layout is None or not session.layout.objects:
        return "plan"
    if session.result is None or not session.files.image:
        return "render"
    if not session.files.summary_png:
        return "export"
    return "done"


#: The steps of a run in order, and the step that makes each product `Session.stale_steps` names.
STEPS = ("recommend", "plan", "render", "export", "done")
_MADE_BY = {"recommendations": "recommend", "scenario": "plan", "layout": "plan", "image": "render"}


def resume_step(session: Session) -> tuple[str, str]:
    """Where `--resume` continues: the first step the session lacks or, when earlier, the first
    whose product is out of date (an edit made after it, in the console or the file), with why
    ("" when nothing is). A resumed run never renders a layout its own session calls stale."""
    step = next_step(session)
    stale = session.stale_steps()
    if stale:
        # Upstream first, and whatever is made from a stale product is stale too: the first
        # one names the earliest step to run again.
        product, reason = next(iter(stale.items()))
        if STEPS.index(_MADE_BY[product]) < STEPS.index(step):
            return _MADE_BY[product], reason
    return step, ""


class Checkpoint:
    """Where the session of one run is saved, and what was saved last."""

    def __init__(self, folder: Path, args: argparse.Namespace, resumed_from: Path | None = None) -> None:
        self.folder = folder
        self.args = args
        #: The steps saved so far in this run ("watched", "recommended", "planned", "rendered").
        self.steps: list[str] = []
        #: The session file to resume from: the last one saved, else the one this run resumed.
        self.saved: Path | None = resumed_from

    @property
    def path(self) -> Path:
        return self.folder / FILE_NAMES["session"]

    def save(self, session: Session, step: str) -> None:
        """Writes the session after `step` completed; raises ExportError when it cannot."""
        try:
            atomic_write_text(self.path, session.to_json())
        except OSError as exc:
            raise ExportError(f"cannot write into {self.folder}: {exc.strerror or exc}") from exc
        self.steps.append(step)
        self.saved = self.path

    def save_rendered(self, session: Session, images: SummaryImages) -> None:
        """Writes the rendered images, then the session naming them (the summary comes later):
        a failure while exporting then never costs the render."""
        try:
            for key in ("image", "layout_on_image", "layout_on_white"):
                picture = getattr(images, key)
                if picture is not None:
                    atomic_write_bytes(self.folder / FILE_NAMES[key], png_bytes(picture))
                setattr(session.files, key, FILE_NAMES[key] if picture is not None else None)
        except OSError as exc:
            raise ExportError(f"cannot write into {self.folder}: {exc.strerror or exc}") from exc
        session.files.summary_png = session.files.summary_pdf = None
        self.save(session, "rendered")

    def resume_command(self) -> str:
        """The command that continues this session with the same servers and transport."""
        assert self.saved is not None
        words = [*PROG.split(), "--resume", str(self.saved.resolve())]
        for key in _REPEATED_FLAGS:
            value = getattr(self.args, key, None)
            if value:
                words += [f"--{key.replace('_', '-')}", str(value)]
        return shlex.join(words)

    def hint(self) -> str:
        """What to tell the person after a failure: where the work is and how to go on."""
        if self.saved is None:
            return ""
        done = f" (done: {', '.join(self.steps)})" if self.steps else ""
        token = " (and the same --auth-token)" if getattr(self.args, "auth_token", None) else ""
        return f"\nThe session is saved in {self.saved}{done}; continue with:\n  {self.resume_command()}{token}"
