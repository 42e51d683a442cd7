"""`python -m client_tui run ...`: the whole flow without a screen, with a progress bar, writing
the summary PNG and PDF, the final image, the layout visualisations and the session JSON into
--out. `--resume SESSION.json` renders a saved session again (same layout and seed unless flags
say otherwise). Every failure ends with one message and a documented exit code, never a
traceback (set MARQUEE_DEBUG=1 to see one for an internal error)."""

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
from typing import TextIO

from client_tui.connections import AddressError, Endpoints, endpoints_from_args
from client_tui.errors import ServerError
from client_tui.exit_codes import ExitCode, describe, for_status
from client_tui.export import ExportError, export_session
from client_tui.flow import InputError, PlannerCaps, fix_seed, plan, recommend, render, resolve_watched
from client_tui.gateway import Gateway, RenderEvent, RenderRetry
from client_tui.images import ImageError
from client_tui.session import RenderParams, Session, SessionError, global_prompt

PROG = "python -m client_tui run"
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
    output = parser.add_argument_group("output")
    output.add_argument(
        "--out", type=Path, metavar="DIR",
        help="Folder for the files (default: outputs/<session id>, or the resumed session's folder).",
    )
    output.add_argument(
        "--resume", type=Path, metavar="SESSION.json",
        help="Render a saved session again (its watched, recommendations and layout; flags override "
        "render settings).",
    )
    output.add_argument("--quiet", action="store_true", help="No progress output (errors still go to stderr).")


class Progress:
    """What the CLI shows while it works: one line per stage and a bar over the render steps."""

    def __init__(self, stream: TextIO, quiet: bool) -> None:
        self.stream = stream
        self.quiet = quiet
        self._bar = None  # tqdm, created on the first render event
        self._position: int | None = None

    def say(self, text: str) -> None:
        if not self.quiet:
            if self._bar is not None:
                self._bar.write(text, file=self.stream)
            else:
                print(text, file=self.stream, flush=True)

    def render_event(self, event: RenderEvent) -> None:
        if self.quiet:
            return
        if isinstance(event, RenderRetry):
            self.say(f"  render stream lost ({event.reason}); retrying (attempt {event.attempt}) ...")
            if self._bar is not None:
                self._bar.reset()
            return
        kind = event.WhichOneof("event")
        if kind == "queued":
            if event.queued.position != self._position:
                self._position = event.queued.position
                self.say(f"  queued: {event.queued.position} job(s) ahead of this one")
        elif kind == "progress":
            bar = self._ensure_bar(event.progress.total_steps)
            bar.set_postfix_str(event.progress.stage or "", refresh=False)
            bar.update(max(0, event.progress.step - bar.n))
        elif kind == "preview" and self._bar is not None:
            self._bar.set_postfix_str(f"preview at step {event.preview.step}", refresh=False)

    def _ensure_bar(self, total: int):  # type: ignore[no-untyped-def]
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="step", desc="render", file=self.stream, dynamic_ncols=True, leave=True)
        elif self._bar.total != total:
            self._bar.total = total
        return self._bar

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


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


async def run_flow(args: argparse.Namespace, endpoints: Endpoints, progress: Progress) -> tuple[Session, Path]:
    """The flow; returns the finished session and the folder it was written to."""
    async with Gateway(endpoints) as gateway:
        gateway.on_retry = lambda server, method, attempt, reason: progress.say(
            f"  {server} {method} failed ({reason}); retrying ..."
        )
        if args.resume is not None:
            session = Session.load(args.resume)
            if session.layout is None or not session.layout.objects:
                raise SessionError(f"{args.resume} has no layout to render")
            session.render = _apply_render_flags(session.render, args)
            if not session.global_prompt:
                session.global_prompt = global_prompt(session.layout)
            folder = args.out or args.resume.resolve().parent
            progress.say(f"resuming session {session.session_id}: {session.layout.title!r}")
        else:
            if not args.watched:
                raise InputError("give at least one --watched TITLE (or --resume SESSION.json)")
            session = Session(k=args.k or 5, planner=args.planner or "auto")
            session.render = _apply_render_flags(session.render, args)
            folder = args.out or Path("outputs") / session.session_id
            started = time.perf_counter()
            progress.say(f"looking up {len(args.watched)} watched title(s) ...")
            session.watched = await resolve_watched(gateway, args.watched)
            session.timings["search"] = time.perf_counter() - started
            progress.say("  " + "; ".join(m.label for m in session.watched))
            caps = PlannerCaps.from_proto(await gateway.describe_planner())
            progress.say(f"recommending {session.k} ...")
            await recommend(
                gateway, session, max_plot_chars=caps.max_plot_chars, max_chars=caps.max_scenario_chars
            )
            for rec in session.recommendations:
                progress.say(f"  {rec.rank}. {rec.movie.label}  ({rec.score:.2f})")
            if args.scenario is not None:
                session.scenario = args.scenario
            if args.system_instruction_file is not None:
                try:
                    session.system_instruction = args.system_instruction_file.read_text(encoding="utf-8")
                except OSError as exc:
                    raise InputError(f"--system-instruction-file: {exc.strerror or exc}") from exc
            progress.say(f"planning the layout ({session.planner}) ...")
            await plan(gateway, session)
            assert session.layout is not None and session.plan is not None
            progress.say(f"  {session.layout.title!r} by the {session.plan.description}")
        seed = fix_seed(session)
        progress.say(
            f"rendering {session.render.width}x{session.render.height}, {session.render.steps} steps, seed {seed} ..."
        )
        try:
            output = await render(gateway, session, progress.render_event)
        finally:
            progress.close()
        assert session.result is not None
        progress.say(
            f"  rendered by {session.result.engine} in {session.result.total_seconds:.1f} s"
            + (f" (attempt {output.attempts})" if output.attempts > 1 else "")
        )
    exported = export_session(session, output.images, folder)
    progress.say(f"wrote {len(exported.files)} files into {folder}")
    return session, folder


def run(args: argparse.Namespace, env: dict[str, str] | None = None) -> int:
    """Runs the flow for parsed `run` arguments; returns the exit code."""
    err = sys.stderr
    progress = Progress(err, args.quiet)
    try:
        endpoints = endpoints_from_args(args, env)
    except AddressError as exc:
        print(f"{PROG}: {exc}", file=err)
        return ExitCode.BAD_INPUT
    try:
        session, folder = _run_cancellable(run_flow(args, endpoints, progress))
    except (InputError, SessionError) as exc:
        print(f"{PROG}: {exc}", file=err)
        return ExitCode.BAD_INPUT
    except ServerError as exc:
        print(f"{PROG}: {exc.advice}", file=err)
        return for_status(exc.code)
    except ExportError as exc:
        print(f"{PROG}: {exc}", file=err)
        return ExitCode.OUTPUT
    except ImageError as exc:
        print(f"{PROG}: the render server sent an image the client cannot read: {exc}", file=err)
        return ExitCode.SERVER_ERROR
    except (KeyboardInterrupt, asyncio.CancelledError):
        progress.close()
        print(f"{PROG}: cancelled; the render job was cancelled on the server too", file=err)
        return ExitCode.CANCELLED
    except Exception as exc:  # noqa: BLE001 - the last line of defence: a message, not a traceback
        if os.environ.get("MARQUEE_DEBUG"):
            traceback.print_exc()
        print(f"{PROG}: internal error: {type(exc).__name__}: {exc} (set MARQUEE_DEBUG=1 for details)", file=err)
        return ExitCode.INTERNAL
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
