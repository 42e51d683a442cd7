"""What running a batch as sub-batches of similar history lengths saves (`--length-groups`).

    .venv/bin/python tests/benchmarks/bench_length_groups.py            # ~1 min
    .venv/bin/python tests/benchmarks/bench_length_groups.py --smoke    # a few seconds

onnxruntime alone, in this process, on the committed model with the server's session options
(2 intra-op threads): batches of 8 to 128 random histories of 5 to 200 movies, each run whole
(`--length-groups 1`) and as up to 2, 3 and 4 groups, interleaved; the best of `--repeats`
passes over the same batches, so other work on the machine shows less. The scores are checked
equal before timing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

BENCHMARKS = Path(__file__).resolve().parent
for folder in (BENCHMARKS.parents[1], BENCHMARKS):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from bench_recommender import histories, machine_line, padded_windows  # noqa: E402

from recommender_server.config import DEFAULT_MODEL_REPOSITORY  # noqa: E402
from recommender_server.length_groups import batch_groups  # noqa: E402
from recommender_server.onnx_runner import OnnxModel  # noqa: E402
from recommender_server.repository import load_entry  # noqa: E402


def measure(
    repository: Path, sizes: list[int], groups: list[int], batches: int, repeats: int
) -> list[dict[str, float | int]]:
    entry = load_entry(repository, "sasrec")
    path = entry.versions[entry.latest_version]
    labels = np.array([int(x) for x in entry.labels["scores"]], dtype=np.int64)
    models = {g: OnnxModel(path, intra_op_threads=2, length_groups=g) for g in groups}
    results = []
    for rows in sizes:
        windows = [padded_windows(histories(labels, rows, seed=i)) for i in range(batches)]
        reference = models[groups[0]].run({"movie_ids": windows[0]})["scores"]
        for model in models.values():
            np.testing.assert_allclose(model.run({"movie_ids": windows[0]})["scores"], reference, rtol=1e-4, atol=1e-4)
        best = dict.fromkeys(groups, float("inf"))
        for _ in range(repeats):
            for g, model in models.items():
                started = time.perf_counter()
                for batch in windows:
                    model.run({"movie_ids": batch})
                best[g] = min(best[g], (time.perf_counter() - started) / len(windows) * 1e3)
        for g in groups:
            used = np.mean([len(batch_groups(b, g)) for b in windows])
            results.append(
                {"rows": rows, "length_groups": g, "ms_per_batch": best[g], "groups_used": float(used)}
                | {"vs_whole": best[g] / best[groups[0]]}
            )
    return results


def table(results: list[dict[str, float | int]]) -> str:
    lines = [
        "| rows | --length-groups | ms per batch | vs one run | groups used (mean) |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        cells = [
            r["rows"],
            r["length_groups"],
            f"{r['ms_per_batch']:.2f}",
            f"{r['vs_whole']:.2f}",
            f"{r['groups_used']:.1f}",
        ]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="two sizes, one pass of 3 batches")
    p.add_argument("--model-repository", type=Path, default=DEFAULT_MODEL_REPOSITORY)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--batches", type=int, default=30, help="batches per size")
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args(argv)
    started = time.perf_counter()
    sizes, batches, repeats = ([16, 64], 3, 1) if args.smoke else ([8, 16, 32, 64, 128], args.batches, args.repeats)
    results = measure(args.model_repository, sizes, [1, 2, 3, 4], batches, repeats)
    print(machine_line(started))
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
