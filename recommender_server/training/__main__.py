"""`python -m recommender_server.training --help` lists every option."""

import ctypes
import os
import sys

# Both settings change speed only, never the numbers, and must precede torch's import.
# OpenMP threads that spin while waiting burn CPU time, which the compute budget counts, whenever
# the machine has other work; passive waiting costs nothing measurable on an idle machine.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _keep_freed_memory_for_reuse() -> None:
    """glibc hands each allocation over 32 MiB (the step's ~200 MiB logits and their gradient)
    straight back to the kernel and maps fresh, zeroed pages for the next: page faults cost a
    third of a training step on this CPU. Raising the mmap and trim thresholds keeps those pages
    in the heap for the next step (measured: 1.52 s to 1.04 s per step of 128 windows). No
    library setting does this for PyTorch's CPU allocator; mallopt(3) is glibc's own switch."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (musl): its allocator has no such thresholds
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 1 << 30)  # a C int: 1 GiB
    libc.mallopt(m_trim_threshold, 2**31 - 1)  # the largest C int (2 GiB)


_keep_freed_memory_for_reuse()

from recommender_server.training.loop import main  # noqa: E402  (after the settings above)

if __name__ == "__main__":
    raise SystemExit(main())
