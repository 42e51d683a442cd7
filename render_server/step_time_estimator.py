"""How long render steps take, for the queue-full retry hint and the shutdown drain.

Two sources, best first:
- the running job's own pace (`StepPace`): the time between its first and latest steps;
- `StepTimeEstimator`: seconds per step of finished jobs, one running average per image size,
  scaled by pixels to the size asked about.

The warm-up (64 × 64, a few steps) is timed too, but a step that small is mostly fixed cost
(Python, the text encoders, the VAE), so scaled by pixels to a real size it overestimates many
times over: the first jobs after start used to get retry hints of 49 s and 131 s for ~1 s jobs,
and the drain stopped a 256² job 4 s from done with 10 s of grace left. An estimate that no
timed job of comparable size backs is therefore marked `rough`, and the queue does not act on a
rough estimate where acting loses work.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass

#: Seconds per step per megapixel assumed before anything at all has been timed.
DEFAULT_SECONDS_PER_STEP_MP = 1.0
#: A job timed at a size within this pixel ratio of another vouches for that one.
COMPARABLE_PIXEL_RATIO = 2.0
#: Weight of the newest job in the running average of its size.
EMA_WEIGHT = 0.3
#: Sizes remembered (the least recently timed one is forgotten first).
SIZES_KEPT = 16
#: Smallest image the estimates consider (16 × 16, the smallest size a request may ask for).
MIN_MEGAPIXELS = 16 * 16 / 1e6

MEASURED = "measured"  # the running job's own pace
TIMED = "timed"  # a finished job of comparable size
SCALED = "scaled"  # a finished job of another size, scaled by pixels
WARM_UP = "warm-up"  # the warm-up, scaled by pixels
DEFAULT = "default"  # nothing timed yet


@dataclass(frozen=True)
class StepEstimate:
    """Seconds per step, and what the number rests on."""

    seconds_per_step: float
    basis: str

    @property
    def rough(self) -> bool:
        """True unless the running job or a finished job of comparable size was timed."""
        return self.basis not in (MEASURED, TIMED)


class StepTimeEstimator:
    """Seconds per step as a function of image size, learnt from finished jobs."""

    def __init__(self, default_seconds_per_step_mp: float = DEFAULT_SECONDS_PER_STEP_MP) -> None:
        self.default_seconds_per_step_mp = default_seconds_per_step_mp
        #: Pixels → running average of the seconds per step of finished jobs of that size.
        self._timed: collections.OrderedDict[int, float] = collections.OrderedDict()
        self._warm_up: tuple[int, float] | None = None

    def learn(self, megapixels: float, seconds_per_step: float) -> None:
        """A finished job of `megapixels` took `seconds_per_step` per step, overheads included."""
        if not (math.isfinite(seconds_per_step) and seconds_per_step > 0):
            return
        pixels = _pixels(megapixels)
        previous = self._timed.pop(pixels, None)
        if previous is None:
            self._timed[pixels] = seconds_per_step
        else:
            self._timed[pixels] = previous + EMA_WEIGHT * (seconds_per_step - previous)
        while len(self._timed) > SIZES_KEPT:
            self._timed.popitem(last=False)

    def learn_warm_up(self, megapixels: float, seconds_per_step: float) -> None:
        """The warm-up's step time: used, scaled and marked rough, only until a job is timed."""
        if math.isfinite(seconds_per_step) and seconds_per_step > 0:
            self._warm_up = (_pixels(megapixels), seconds_per_step)

    def per_step(self, megapixels: float) -> StepEstimate:
        """The expected seconds per step at `megapixels`."""
        pixels = _pixels(megapixels)
        if self._timed:
            nearest = min(self._timed, key=lambda size: abs(math.log(pixels / size)))
            seconds = self._timed[nearest] * pixels / nearest
            ratio = max(pixels, nearest) / min(pixels, nearest)
            return StepEstimate(seconds, TIMED if ratio <= COMPARABLE_PIXEL_RATIO else SCALED)
        if self._warm_up is not None:
            size, seconds = self._warm_up
            return StepEstimate(seconds * pixels / size, WARM_UP)
        return StepEstimate(self.default_seconds_per_step_mp * pixels / 1e6, DEFAULT)


class StepPace:
    """A running job's own pace, from the clock readings at its first and latest steps.

    The time before the first step (prompt encoding) and after the last (decoding, composing)
    is left out: the span between steps is the denoising alone. Written by the worker thread,
    read by the event loop; each reading is one tuple, replaced whole.
    """

    def __init__(self) -> None:
        self._first: tuple[int, float] | None = None
        self._latest: tuple[int, float] | None = None

    def record(self, step: int, now: float) -> None:
        """Step `step` ended at `now` (a `time.monotonic()` reading)."""
        if step < 1:
            return
        if self._first is None or self._latest is None:
            self._first = self._latest = (step, now)
        elif step > self._latest[0]:
            self._latest = (step, now)

    def seconds_per_step(self, now: float) -> float | None:
        """The mean time of a step since the first one, the step under way counted once it has
        lasted longer than that mean; None before two steps have ended."""
        first, latest = self._first, self._latest
        if first is None or latest is None or latest[0] <= first[0]:
            return None
        steps = latest[0] - first[0]
        finished = max(0.0, latest[1] - first[1]) / steps
        with_current = max(0.0, now - first[1]) / (steps + 1)
        return max(finished, with_current)


def _pixels(megapixels: float) -> int:
    return max(round(MIN_MEGAPIXELS * 1e6), round(megapixels * 1e6))
