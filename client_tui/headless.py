"""`python -m client_tui run ...`: the whole flow without a screen, with a progress bar, writing
the summary PNG and PDF, the final image, the layout visualisations and the session JSON into
--out. The session is saved after every completed step (watched, recommended, planned,
rendered), so `--resume SESSION.json` continues from the step a failure interrupted, or from an
earlier one whose product is out of date (`checkpoint.resume_step`); a finished session renders
again (same layout and seed unless flags say otherwise). Every failure ends with
one message and a documented exit code, never a traceback (set MARQUEE_DEBUG=1 to see one for
an internal error), and says where the session is saved and how to resume it. Its arguments, and
what they set in the session, are in `client_tui.run_arguments`."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
import traceback
from collections.abc import Coroutine
from typing import Any, TypeVar

import grpc

from client_tui.checkpoint import PROG, Checkpoint, next_step, resume_step
from client_tui.cli_progress import Progress
from client_tui.connections import AddressError, Endpoints, endpoints_from_args
from client_tui.errors import ServerError
from client_tui.exit_codes import ExitCode, for_status
from client_tui.export import ExportError, export_session, load_images
from client_tui.flow import InputError, fix_seed, plan, prefill_scenario, recommend, render, resolve_watched
from client_tui.gateway import Gateway
from client_tui.images import ImageError
from client_tui.records import global_prompt
from client_tui.run_arguments import RENDER_FLAGS, apply_step_flags, check_person_input, open_session
from client_tui.server_caps import EngineCaps, OverCap, engine_caps, planner_caps
from client_tui.session import Session, SessionError
from client_tui.summary import SummaryImages

_T = TypeVar("_T")


async def _early_engine_caps(task: asyncio.Task[EngineCaps]) -> EngineCaps | None:
    """The engine's caps if the render server answered; None if not (checked again before the
    render, whose failure is then the one reported, after the earlier steps are saved)."""
    try:
        return await task
    except ServerError:
        return None


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
    args: argparse.Namespace,
    session: Session,
    checkpoint: Checkpoint,
    gateway: Gateway,
    progress: Progress,
    engine_task: asyncio.Task[EngineCaps],
) -> Session:
    if args.resume is None:
        started = time.perf_counter()
        progress.say(f"looking up {len(args.watched)} watched title(s) ...")
        session.watched = await resolve_watched(gateway, args.watched)
        session.timings["search"] = time.perf_counter() - started
        progress.say("  " + "; ".join(m.label for m in session.watched))
        checkpoint.save(session, "watched")
    step, out_of_date = resume_step(session) if args.resume is not None else (next_step(session), "")
    if step == "done" or (step == "export" and any(getattr(args, f) is not None for f in RENDER_FLAGS)):
        step = "render"  # a finished session renders again (with any new render flags)
    if args.resume is not None:
        if step == "recommend" and not session.watched:
            raise SessionError(f"{args.resume} has no watched movies to continue from; start with --watched")
        progress.say(f"resuming session {session.session_id} at the {step} step")
        if out_of_date:
            progress.say(f"  {out_of_date}: that step and the ones after it run again")
        if args.watched:
            progress.say("  --watched ignored: the resumed session keeps its watched movies")
    apply_step_flags(args, session, step, progress)
    planner = await planner_caps(gateway) if step in ("recommend", "plan") else None
    engine = await _early_engine_caps(engine_task)
    if (
        step == "plan"
        and planner is not None
        and session.scenario_is_generated()
        and len(session.scenario) > planner.max_scenario_chars
    ):
        # Ours, not the person's: written again to fit this planner instead of refused.
        progress.say(
            f"  the scenario Marquee wrote has {len(session.scenario)} characters; this layout server "
            f"takes {planner.max_scenario_chars}: written again to fit"
        )
        prefill_scenario(session, planner)
    try:
        check_person_input(args, session, step, planner, engine)
    except OverCap as exc:
        raise InputError(str(exc)) from None
    if step == "recommend":
        assert planner is not None
        # Recommending writes Marquee's scenario; one the person wrote is theirs and stays.
        persons_scenario = session.scenario if session.scenario.strip() and not session.scenario_is_generated() else ""
        progress.say(f"recommending {session.k} ...")
        await recommend(gateway, session, planner)
        for rec in session.recommendations:
            progress.say(f"  {rec.rank}. {rec.movie.label}  ({rec.score:.2f})")
        if args.scenario is not None:
            session.scenario = args.scenario
        elif persons_scenario:
            session.scenario = persons_scenario
            progress.say("  your scenario is kept (the one Marquee would write is not used)")
        checkpoint.save(session, "recommended")
        step = "plan"
    if step == "plan":
        if not session.scenario.strip():
            assert planner is not None  # a session saved before its scenario was written: write it now
            prefill_scenario(session, planner)
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
            check_person_input(args, session, "render", None, engine)
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
    except Exception as exc:
        if os.environ.get("MARQUEE_DEBUG"):
            traceback.print_exc()
        return fail(f"internal error: {type(exc).__name__}: {exc} (set MARQUEE_DEBUG=1 for details)", ExitCode.INTERNAL)
    print(folder / "summary.png")
    return ExitCode.OK


def _run_cancellable(coro: Coroutine[Any, Any, _T]) -> _T:
    """asyncio.run, with Ctrl-C (SIGINT) and SIGTERM cancelling the flow (so the render call is
    cancelled and the server stops the job); a second Ctrl-C stops at once.

    Both signals go through the loop's own handlers rather than asyncio.run's SIGINT handler:
    that one cancels the task from whatever bytecode the main thread is running, and under load
    a Ctrl-C during the render was seen to be lost (the CLI rendered on and exited 0), while
    SIGTERM, delivered through the loop, never was."""
    interrupts = 0

    async def main() -> _T:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        assert task is not None

        def interrupt() -> None:
            nonlocal interrupts
            interrupts += 1
            if interrupts > 1:
                raise KeyboardInterrupt
            task.cancel()

        try:
            loop.add_signal_handler(signal.SIGINT, interrupt)
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
        except (NotImplementedError, RuntimeError):
            pass
        return await coro

    return asyncio.run(main())
