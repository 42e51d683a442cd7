"""The committed generated code equals what `make protos` would write now."""

from __future__ import annotations

from pathlib import Path

from marquee import protogen


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    protogen.generate(tmp_path)
    stale = []
    for name in protogen.generated_names():
        fresh = (tmp_path / "marquee" / "v1" / name).read_bytes()
        committed_path = protogen.PACKAGE_DIR / name
        if not committed_path.is_file() or committed_path.read_bytes() != fresh:
            stale.append(name)
    assert not stale, f"stale generated code, run `make protos`: {stale}"


def test_every_contract_has_its_services() -> None:
    from marquee.v1 import layout_pb2, recommender_pb2, render_pb2

    rpcs = {
        svc.full_name: sorted(m.name for m in svc.methods)
        for mod in (recommender_pb2, layout_pb2, render_pb2)
        for svc in mod.DESCRIPTOR.services_by_name.values()
    }
    assert rpcs == {
        "marquee.v1.RecommenderService": ["GetMovies", "Recommend", "ResolveTitles", "SearchMovies"],
        "marquee.v1.LayoutService": ["DescribePlanner", "PlanLayout", "ValidateLayout"],
        "marquee.v1.RenderService": ["DescribeEngine", "Render"],
    }
    render = render_pb2.DESCRIPTOR.services_by_name["RenderService"].methods_by_name["Render"]
    assert render.server_streaming and not render.client_streaming
    events = render_pb2.RenderResponse.DESCRIPTOR.oneofs_by_name["event"]
    assert [f.name for f in events.fields] == ["queued", "progress", "preview", "result"]
