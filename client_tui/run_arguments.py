"""The arguments of `python -m client_tui run`: their parsing (each bad value a clear argparse
error, exit 2), and what they set in the session: a new or resumed session with the render flags
applied, the flags of steps still to run, and what the person typed checked against the servers'
caps before any call that would fail on it."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from pathlib import Path

from client_tui.cli_progress import Progress
from client_tui.exit_codes import describe
from client_tui.flow import InputError
from client_tui.gateway import DEFAULT_QUEUE_WAIT
from client_tui.records import RenderParams
from client_tui.server_caps import (
    EngineCaps,
    PlannerCaps,
    check_scenario,
    check_size,
    check_system_instruction,
    fit_default_size,
)
from client_tui.session import Session

_SIZE = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")


def _size(text: str) -> tuple[int, int]:
    match = _SIZE.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT, e.g. 1024x1024")
    width, height = int(match[1]), int(match[2])
    for value in (width, height):
        if not 16 <= value <= 4096 or value % 16:
            raise argparse.ArgumentTypeError(f"{text!r}: width and height must be multiples of 16 between 16 and 4096")
    return width, height


def _bounded_int(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0.0 <= value <= 86400.0:
        raise argparse.ArgumentTypeError(f"{value:g} is not between 0 and 86400 seconds")
    return value


def _guidance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 50.0:
        raise argparse.ArgumentTypeError(f"{value} is not between 0 and 50")
    return value


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = describe()
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    flow = parser.add_argument_group("the flow")
    flow.add_argument(
        "--watched",
        action="append",
        default=[],
        metavar="TITLE",
        help='A watched movie as MovieLens writes it, e.g. "Toy Story (1995)"; repeat, oldest first.',
    )
    flow.add_argument("--k", type=_bounded_int(1, 10), default=None, help="How many recommendations (1-10, default 5).")
    flow.add_argument(
        "--planner",
        choices=("auto", "llm", "offline"),
        default=None,
        help="Layout planner: the LLM, the offline planner, or auto (LLM when configured). Default auto.",
    )
    flow.add_argument("--scenario", metavar="TEXT", help="Use this scenario instead of the generated one.")
    flow.add_argument(
        "--system-instruction-file",
        type=Path,
        metavar="FILE",
        help="Replace the LLM planner's system instruction with this file's text.",
    )
    render_group = parser.add_argument_group("render (defaults: 28 steps, guidance 7, 1024x1024, preview every 5)")
    render_group.add_argument("--steps", type=_bounded_int(1, 200), help="Denoising steps (1-200).")
    render_group.add_argument("--guidance", type=_guidance, help="Classifier-free guidance (0-50).")
    render_group.add_argument("--size", type=_size, metavar="WxH", help="Image size, multiples of 16.")
    render_group.add_argument(
        "--seed", type=_bounded_int(0, 2**63 - 1), help="Seed (random if not given; always recorded)."
    )
    render_group.add_argument(
        "--preview-every", type=_bounded_int(0, 200), metavar="N", help="A preview every N steps (0: none)."
    )
    render_group.add_argument("--negative-prompt", metavar="TEXT", help="What the image should avoid.")
    render_group.add_argument(
        "--wait",
        type=_seconds,
        default=DEFAULT_QUEUE_WAIT,
        metavar="SECONDS",
        help=f"How long to wait, in all, for room when the render queue is full (default "
        f"{DEFAULT_QUEUE_WAIT:g}; 0: do not wait).",
    )
    output = parser.add_argument_group("output")
    output.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="Folder for the files (default: outputs/<session id>, or the resumed session's folder).",
    )
    output.add_argument(
        "--resume",
        type=Path,
        metavar="SESSION.json",
        help="Continue a saved session from the step it lacks (recommend, plan, render, export); a "
        "finished one renders again. Flags override its render settings, and the settings of steps "
        "still to run.",
    )
    output.add_argument("--quiet", action="store_true", help="No progress output (errors still go to stderr).")
    output.add_argument(
        "--paper", choices=("a4", "letter"), default="a4", help="Page size of summary.pdf (default a4)."
    )


RENDER_FLAGS = ("steps", "guidance", "size", "seed", "preview_every", "negative_prompt")


def apply_render_flags(params: RenderParams, args: argparse.Namespace) -> RenderParams:
    values = params.model_dump()
    if args.steps is not None:
        values["steps"] = args.steps
    if args.guidance is not None:
        values["guidance"] = args.guidance
    if args.size is not None:
        values["width"], values["height"] = args.size
    if args.seed is not None:
        values["seed"] = args.seed
    if args.preview_every is not None:
        values["preview_interval"] = args.preview_every
    if args.negative_prompt is not None:
        values["negative_prompt"] = args.negative_prompt
    return RenderParams(**values)


def open_session(args: argparse.Namespace) -> tuple[Session, Path]:
    """The session to work on (new, or the one --resume names) and the folder it is saved in.
    Reads --system-instruction-file now, so a bad one fails before any call."""
    if args.resume is not None:
        session = Session.load(args.resume)
        folder = args.out or args.resume.resolve().parent
    else:
        if not args.watched:
            raise InputError("give at least one --watched TITLE (or --resume SESSION.json)")
        session = Session(k=args.k or 5, planner=args.planner or "auto")
        folder = args.out or Path("outputs") / session.session_id
    session.render = apply_render_flags(session.render, args)
    args.system_instruction = None
    if args.system_instruction_file is not None:
        try:
            args.system_instruction = args.system_instruction_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"--system-instruction-file: {exc.strerror or exc}") from exc
    return session, folder


def check_person_input(
    args: argparse.Namespace, session: Session, step: str, planner: PlannerCaps | None, engine: EngineCaps | None
) -> None:
    """What the person typed (flags, or the session file they resume) against the servers' caps,
    named by flag, before any call that would fail on it. Raises OverCap."""
    source = f"in {args.resume}" if args.resume is not None else ""
    if planner is not None and step in ("recommend", "plan"):
        if args.scenario is not None:
            check_scenario(args.scenario, planner, "--scenario")
        elif step == "plan":
            check_scenario(session.scenario, planner, f"the scenario {source}".strip())
        what = "--system-instruction-file" if args.system_instruction_file else f"the system instruction {source}"
        check_system_instruction(session.system_instruction, planner, what.strip())
    if engine is not None and step != "export":
        if args.size is not None:
            check_size(session.render.width, session.render.height, engine, "--size")
        elif args.resume is not None:
            check_size(session.render.width, session.render.height, engine, f"the size {source}")
        else:
            width, height = fit_default_size(session.render.width, session.render.height, engine)
            session.render = session.render.model_copy(update={"width": width, "height": height})


def apply_step_flags(args: argparse.Namespace, session: Session, step: str, progress: Progress) -> None:
    """Flags that shape a step apply when that step is still to run; otherwise they are noted."""
    pending = {
        "recommend": ("k", "planner", "scenario", "system_instruction_file"),
        "plan": ("planner", "scenario", "system_instruction_file"),
    }.get(step, ())
    for name in ("k", "planner", "scenario", "system_instruction_file"):
        if getattr(args, name) is not None and name not in pending:
            flag = "--" + name.replace("_", "-")
            progress.say(f"  {flag} ignored: the session is past that step (next: {step})")
    if "k" in pending and args.k is not None:
        session.k = args.k
    if "planner" in pending and args.planner is not None:
        session.planner = args.planner
    if step == "plan" and args.scenario is not None:
        session.scenario = args.scenario
    if "system_instruction_file" in pending and args.system_instruction is not None:
        session.system_instruction = args.system_instruction
