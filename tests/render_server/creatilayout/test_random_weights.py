"""The GPU speed check's whole path on the CPU at tiny sizes (`bench_render_speed.py --smoke`):
random-weight components at their configured sizes, plain SD3 beside Marquee's pipeline, eager and
compiled, previews, cancelling; and the released sizes add up to the released parameter counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from render_server.creatilayout.random_weights import build_pipelines
from tests.real_stack import run_benchmark

pytestmark = pytest.mark.slow


def test_released_sizes_have_the_released_parameter_counts(fixtures_dir: Path) -> None:
    # On the meta device: shapes without memory, so the full-size build is checked on any machine.
    pair = build_pipelines("sd3-medium", fixtures_dir, device="meta", dtype=torch.bfloat16)
    facts = json.loads((fixtures_dir / "sd3m_layout_state_dict.json").read_text())["counts"]
    base = json.loads((fixtures_dir / "sd3m_base_state_dict.json").read_text())["counts"]
    assert pair.parameters["layout transformer"] == facts["parameter_elements"]
    assert pair.parameters["plain transformer"] == base["parameter_elements"]
    # CLIP-L, CLIP-G and the T5-XXL encoder as published with SD3-Medium.
    assert pair.parameters["clip-l"] == 123_650_304
    assert pair.parameters["clip-g"] == 694_659_840
    assert pair.parameters["t5"] == 4_762_310_656
    assert next(pair.marquee.transformer.parameters()).dtype == torch.bfloat16


def test_smoke_run_times_every_variant_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "speed.json"
    result = run_benchmark(
        "bench_render_speed.py",
        "--smoke",
        "--variants",
        "plain-eager,marquee-eager,marquee-compiled",
        "--json",
        str(out),
        timeout=600,
    )
    report = json.loads(out.read_text())
    assert [(r["variant"], r["side"]) for r in report["rows"]] == [
        ("plain-eager", 64),
        ("marquee-eager", 64),
        ("marquee-compiled", 64),
    ]
    assert report["skipped"] == [] and report["compile"] == "eager"
    [extras] = report["marquee_extras"]
    # Cancelling stops within the step in flight.
    assert extras["steps_after_request"] <= 1
    assert extras["preview_s"] > 0 and extras["step_s"] > 0
    assert any("scaled_dot_product" in k for k in extras["attention_kernels"])
    assert "marquee-compiled" in result.stdout and "s/image" in result.stdout
