"""What the worker thread does with one ticket: render with the engine, draw the layout over the
image and on white, encode, save the files, and build the `RenderResult` that ends the stream."""

from __future__ import annotations

import time

from marquee.layout_drawing import layout_on_image, layout_on_white
from marquee.v1 import common_pb2, render_pb2
from render_server.engines import COMPOSING, Engine
from render_server.job_ticket import Ticket
from render_server.output_store import OutputStore
from render_server.previews import encode_png


def _png(data: bytes, width: int, height: int) -> common_pb2.EncodedImage:
    return common_pb2.EncodedImage(data=data, width=width, height=height, media_type="image/png")


class RenderJobRunner:
    """`work` for the job queue: one ticket in, one `RenderResult` out (blocking)."""

    def __init__(self, engine: Engine, store: OutputStore) -> None:
        self.engine = engine
        self.store = store

    def __call__(self, ticket: Ticket) -> render_pb2.RenderResult:
        spec = ticket.spec
        output = self.engine.render(spec, ticket)
        ticket.flush_previews()
        if ticket.last_stage != COMPOSING:
            ticket.progress(ticket.total_steps, ticket.total_steps, COMPOSING)
        image = output.image.convert("RGB")
        if image.size != (spec.width, spec.height):
            raise RuntimeError(
                f"the {self.engine.name} engine returned {image.size[0]}×{image.size[1]}, "
                f"not the {spec.width}×{spec.height} asked for"
            )
        boxes = [(o.phrase, o.box) for o in spec.objects]
        files = {
            "image": encode_png(image),
            "layout_on_image": encode_png(layout_on_image(image, boxes, output.label_keep_clear)),
            "layout_on_white": encode_png(layout_on_white(boxes, spec.width, spec.height)),
        }
        running = time.monotonic() - (ticket.started or ticket.submitted)
        metadata = render_pb2.RenderMetadata(
            seed=spec.seed,
            steps=output.steps,
            guidance=spec.guidance,
            width=spec.width,
            height=spec.height,
            engine=self.engine.name,
            model=self.engine.model,
            queued_seconds=ticket.queued_seconds,
            total_seconds=ticket.queued_seconds + running,
            first_preview_seconds=ticket.first_preview_seconds,
            seconds_per_step=running / max(1, output.steps),
            layout_steps=output.layout_steps,
            job_id=ticket.job_id,
            steps_requested=spec.steps,
            notice=self.engine.result_notice(spec, output.steps),
        )
        record = {
            "job_id": ticket.job_id,
            "engine": self.engine.name,
            "model": self.engine.model,
            "device": self.engine.device,
            "prompt": spec.prompt,
            "negative_prompt": spec.negative_prompt,
            "title": spec.title,
            "mood": spec.mood,
            "genres": list(spec.genres),
            "objects": [{"phrase": o.phrase, "box": list(o.box)} for o in spec.objects],
            "seed": spec.seed,
            "steps": output.steps,
            "steps_requested": spec.steps,
            "notice": metadata.notice,
            "layout_steps": output.layout_steps,
            "guidance": spec.guidance,
            "width": spec.width,
            "height": spec.height,
            "queued_seconds": round(metadata.queued_seconds, 4),
            "running_seconds": round(running, 4),
            "first_preview_seconds": round(metadata.first_preview_seconds, 4),
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        metadata.saved_files.extend(self.store.save(ticket.job_id, files, record))
        return render_pb2.RenderResult(
            image=_png(files["image"], spec.width, spec.height),
            layout_on_image=_png(files["layout_on_image"], spec.width, spec.height),
            layout_on_white=_png(files["layout_on_white"], spec.width, spec.height),
            metadata=metadata,
        )
