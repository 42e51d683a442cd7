"""`python -m client_tui run ...`: the whole flow without a screen, with a progress bar, writing
the summary PNG and PDF, the final image, the layout visualisations and the session JSON into
--out. The session is saved after every completed step (watched, recommended, planned,
rendered), so `--resume SESSION.json` continues from the step a failure interrupted; a finished
session renders again (same layout and seed unless flags say otherwise). Every failure ends with
one message and a documented exit code, never a traceback (set MARQUEE_DEBUG=1 to see one for
an internal error), and says where the session is saved and how to resume it."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import sys
import time
import traceback
from pathlib import Path

import grpc

from client_tui.checkpoint import PROG, Checkpoint, next_step
from client_tui.cli_progress import Progress
from client_tui.connections import AddressError, Endpoints, endpoints_from_args
from client_tui.errors import ServerError
from client_tui.exit_codes import ExitCode, describe, for_status
from client_tui.export import ExportError, export_session, load_images
from client_tui.flow import InputError, fix_seed, plan, recommend, render, resolve_watched
from client_tui.gateway import DEFAULT_QUEUE_WAIT, Gateway
from client_tui.images import ImageError
from client_tui.scenario import default_scenario, top_genres
from client_tui.server_caps import (
    EngineCaps,
    OverCap,
    PlannerCaps,
    check_scenario,
    check_size,
    check_system_instruction,
    engine_caps,
    fit_default_size,
    planner_caps,
)
from client_tui.session import RenderParams, Session, SessionError, global_prompt
from client_tui.summary import SummaryImages

_SIZE = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")


def _size(text: str) -> tuple[int, int]:
    match = _SIZE.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT, e.g. 1024x1024")
    width, height = int(match[1]), int(match[2])
    for value in (width, height):
        if not 16 <= value <= 4096 or value % 16:
            raise argparse.ArgumentTypeError(
                f"{text!r}: width and height must be multiples of 16 between 16 and 4096"
            )
    return width, height


def _bounded_int(low: int, high: int):  # type: ignore[no-untyped-def]
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
        "--watched", action="append", default=[], metavar="TITLE",
        help='A watched movie as MovieLens writes it, e.g. "Toy Story (1995)"; repeat, oldest first.',
    )
    flow.add_argument("--k", type=_bounded_int(1, 10), default=None, help="How many recommendations (1-10, default 5).")
    flow.add_argument(
        "--planner", choices=("auto", "llm", "offline"), default=None,
        help="Layout planner: the LLM, the offline planner, or auto (LLM when configured). Default auto.",
    )
    flow.add_argument("--scenario", metavar="TEXT", help="Use this scenario instead of the generated one.")
    flow.add_argument(
        "--system-instruction-file", type=Path, metavar="FILE",
        help="Replace the LLM planner's system instruction with this file's text.",
    )
    render_group = parser.add_argument_group("render (defaults: 28 steps, guidance 7, 1024x1024, preview every 5)")
    render_group.add_argument("--steps", type=_bounded_int(1, 200), help="Denoising steps (1-200).")
    render_group.add_argument("--guidance", type=_guidance, help="Classifier-free guidance (0-50).")
    render_group.add_argument("--size", type=_size, metavar="WxH", help="Image size, multiples of 16.")
    render_group.add_argument("--seed", type=_bounded_int(0, 2**63 - 1), help="Seed (random if not given; always recorded).")
    render_group.add_argument(
        "--preview-every", type=_bounded_int(0, 200), metavar="N", help="A preview every N steps (0: none)."
    )
    render_group.add_argument("--negative-prompt", metavar="TEXT", help="What the image should avoid.")
    render_group.add_argument(
        "--wait", type=_seconds, default=DEFAULT_QUEUE_WAIT, metavar="SECONDS",
        help=f"How long to wait, in all, for room when the render queue is full (default "
        f"{DEFAULT_QUEUE_WAIT:g}; 0: do not wait).",
    )
    output = parser.add_argument_group("output")
    output.add_argument(
        "--out", type=Path, metavar="DIR",
        help="Folder for the files (default: outputs/<session id>, or the resumed session's folder).",
    )
    output.add_argument(
        "--resume", type=Path, metavar="SESSION.json",
        help="Continue a saved session from the step it lacks (recommend, plan, render, export); a "
        "finished one renders again. Flags override its render settings, and the settings of steps "
        "still to run.",
    )
    output.add_argument("--quiet", action="store_true", help="No progress output (errors still go to stderr).")
    output.add_argument(
        "--paper", choices=("a4", "letter"), default="a4", help="Page size of summary.pdf (default a4)."
    )


_RENDER_FLAGS = ("steps", "guidance", "size", "seed", "preview_every", "negative_prompt")


def _apply_render_flags(params: RenderParams, args: argparse.Namespace) -> RenderParams:
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
    session.render = _apply_render_flags(session.render, args)
    args.system_instruction = None
    if args.system_instruction_file is not None:
        try:
            args.system_instruction = args.system_instruction_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"--system-instruction-file: {exc.strerror or exc}") from exc
    return session, folder


async def _early_engine_caps(task: "asyncio.Task[EngineCaps]") -> EngineCaps | None:
    """The engine's caps if the render server answered; None if not (checked again before the
    render, whose failure is then the one reported, after the earlier steps are saved)."""
    try:
        return await task
    except ServerError:
        return None


def _check_person_input(
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


def _apply_step_flags(args: argparse.Namespace, session: Session, step: str, progress: Progress) -> None:
    """Flags that shape a step apply when that step is still to run; otherwise they are noted."""
    pending = {"recommend": ("k", "planner", "scenario", "system_instruction_file"),
               "plan": ("planner", "scenario", "system_instruction_file")}.get(step, ())
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


async def run_flow(
    args: argparse.Namespace, session: Session, checkpoint: Checkpoint, endpoints: Endpoints, progress: Progress
) -> Session:
    """Runs every step the session still lacks, saving it after each; returns it finished."""
    async with Gateway(endpoints) as gateway:
        gateway.on_retry = lambda server, method, attempt, reason: progress.say(
            f"  {server} {method} failed ({reason}); retrying ..."
        )
        engine_task = asyncio.create_task(engine_caps(gateway))
        try:
            return await _steps(args, session, checkpoint, gateway, progress, engine_task)
        finally:
            engine_task.cancel()


async def _steps(
    args: argparse.Namespace, session: Session, checkpoint: Checkpoint, gateway: Gateway, progress: Progress,
    engine_task: "asyncio.Task[EngineCaps]",
) -> Session:
    if args.resume is None:
        started = time.perf_counter()
        progress.say(f"looking up {len(args.watched)} watched title(s) ...")
        session.watched = await resolve_watched(gateway, args.watched)
        session.timings["search"] = time.perf_counter() - started
        progress.say("  " + "; ".join(m.label for m in session.watched))
        checkpoint.save(session, "watched")
    step = next_step(session)
    if step == "done" or (step == "export" and any(getattr(args, f) is not None for f in _RENDER_FLAGS)):
        step = "render"  # a finished session renders again (with any new render flags)
    if args.resume is not None:
        if step == "recommend" and not session.watched:
            raise SessionError(f"{args.resume} has no watched movies to continue from; start with --watched")
        progress.say(f"resuming session {session.session_id} at the {step} step")
        if args.watched:
            progress.say("  --watched ignored: the resumed session keeps its watched movies")
    _apply_step_flags(args, session, step, progress)
    planner = await planner_caps(gateway) if step in ("recommend", "plan") else None
    engine = await _early_engine_caps(engine_task)
    try:
        _check_person_input(args, session, step, planner, engine)
    except OverCap as exc:
        raise InputError(str(exc)) from None
    if step == "recommend":
        assert planner is not None
        progress.say(f"recommending {session.k} ...")
        await recommend(gateway, session, planner)
        for rec in session.recommendations:
            progress.say(f"  {rec.rank}. {rec.movie.label}  ({rec.score:.2f})")
        if args.scenario is not None:
            session.scenario = args.scenario
        checkpoint.save(session, "recommended")
        step = "plan"
    if step == "plan":
        if not session.scenario.strip():
            assert planner is not None  # a session saved before its scenario was written: write it now
            session.top_genres = session.top_genres or top_genres(session.watched)
            session.scenario = default_scenario(
                session.top_genres, [r.movie for r in session.recommendations],
                max_plot_chars=planner.scenario_plot_chars, max_chars=planner.max_scenario_chars,
            )
        progress.say(f"planning the layout ({session.planner}) ...")
        await plan(gateway, session, planner)
        assert session.layout is not None and session.plan is not None
        progress.say(f"  {session.layout.title!r} by the {session.plan.description}")
        checkpoint.save(session, "planned")
        step = "render"
    if step == "render":
        images = await _render(args, session, gateway, progress, engine)
        checkpoint.save_rendered(session, images)
    else:
        assert args.resume is not None
        progress.say("the image is rendered; writing the summary ...")
        images = load_images(session, args.resume.resolve().parent)
    exported = export_session(session, images, checkpoint.folder, paper=args.paper)
    progress.say(f"wrote {len(exported.files)} files into {checkpoint.folder}")
    return session


async def _render(
    args: argparse.Namespace, session: Session, gateway: Gateway, progress: Progress, engine: EngineCaps | None
) -> SummaryImages:
    if engine is None:
        engine = await engine_caps(gateway)
        try:
            _check_person_input(args, session, "render", None, engine)
        except OverCap as exc:
            raise InputError(str(exc)) from None
    if not session.global_prompt and session.layout is not None:
        session.global_prompt = global_prompt(session.layout)
    seed = fix_seed(session)
    progress.say(
        f"rendering {session.render.width}x{session.render.height}, {session.render.steps} steps, seed {seed} ..."
    )
    try:
        output = await render(gateway, session, progress.render_event, engine_caps=engine, queue_wait=args.wait)
    finally:
        progress.close()
    assert session.result is not None
    progress.say(
        f"  rendered by {session.result.engine} in {session.result.total_seconds:.1f} s"
        + (f" (attempt {output.attempts})" if output.attempts > 1 else "")
    )
    if session.result.notice:
        progress.say(f"  note: {session.result.notice}")
    return output.images


def _advice(error: ServerError, args: argparse.Namespace) -> str:
    if error.server == "render" and error.code is grpc.StatusCode.RESOURCE_EXHAUSTED:
        if args.wait <= 0:
            return f"The render queue is full ({error.details}). Wait for room with --wait SECONDS, or resume later."
        return (
            f"The render queue stayed full for the {args.wait:g} s --wait allows ({error.details}). "
            "Resume later, or wait longer with --wait SECONDS."
        )
    return error.advice


def run(args: argparse.Namespace, env: dict[str, str] | None = None) -> int:
    """Runs the flow for parsed `run` arguments; returns the exit code."""
    err = sys.stderr
    progress = Progress(err, args.quiet)
    checkpoint: Checkpoint | None = None

    def fail(message: str, code: ExitCode) -> int:
        progress.close()
        print(f"{PROG}: {message}{checkpoint.hint() if checkpoint else ''}", file=err)
        return code

    try:
        endpoints = endpoints_from_args(args, env)
    except AddressError as exc:
        return fail(str(exc), ExitCode.BAD_INPUT)
    try:
        session, folder = open_session(args)
        checkpoint = Checkpoint(folder, args, resumed_from=args.resume)
        _run_cancellable(run_flow(args, session, checkpoint, endpoints, progress))
    except (InputError, SessionError) as exc:
        return fail(str(exc), ExitCode.BAD_INPUT)
    except ServerError as exc:
        return fail(_advice(exc, args), for_status(exc.code))
    except ExportError as exc:
        return fail(str(exc), ExitCode.OUTPUT)
    except ImageError as exc:
        return fail(f"the render server sent an image the client cannot read: {exc}", ExitCode.SERVER_ERROR)
    except (KeyboardInterrupt, asyncio.CancelledError):
        return fail("cancelled; the render job was cancelled on the server too", ExitCode.CANCELLED)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: a message, not a traceback
        if os.environ.get("MARQUEE_DEBUG"):
            traceback.print_exc()
        return fail(f"internal error: {type(exc).__name__}: {exc} (set MARQUEE_DEBUG=1 for details)", ExitCode.INTERNAL)
    print(folder / "summary.png")
    return ExitCode.OK


def _run_cancellable(coro):  # type: ignore[no-untyped-def]
    """asyncio.run, with SIGTERM cancelling the flow like Ctrl-C does (so the render call is
    cancelled and the server stops the job)."""

    async def main():  # type: ignore[no-untyped-def]
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        assert task is not None
        try:
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
        except (NotImplementedError, RuntimeError):
            pass
        return await coro

    return asyncio.run(main())
