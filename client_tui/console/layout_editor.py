"""Every part of a layout editable: title, mood, and each object's name, feature and box. The
editor posts `Changed` with the layout it now holds (and the numbers it could not read); the app
validates that with the planner and sends the problems back down."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Label, Static

from client_tui.console.fields import StepInput, parse_float
from client_tui.records import BoxRecord, LayoutObjectRecord, LayoutRecord, ProblemRecord

COORDS = ("x1", "y1", "x2", "y2")
NEW_OBJECT = LayoutObjectRecord(name="", feature="", box=BoxRecord(x1=0.3, y1=0.3, x2=0.7, y2=0.7))


def _fmt(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.1f}"


class ObjectRow(Horizontal):
    DEFAULT_CSS = """
    ObjectRow { height: 1; margin: 0 0 1 0; }
    ObjectRow .number { width: 4; padding: 0 0 0 1; text-style: bold; }
    ObjectRow StepInput { margin: 0 1 0 0; }
    ObjectRow .name { width: 2fr; }
    ObjectRow .feature { width: 3fr; }
    ObjectRow .coord { width: 7; }
    ObjectRow Button { min-width: 3; width: 3; }
    """

    def __init__(self, index: int, texts: dict[str, str]) -> None:
        super().__init__(classes="object-row")
        self.index = index
        self.texts = texts

    @staticmethod
    def texts_of(obj: LayoutObjectRecord) -> dict[str, str]:
        return {
            "name": obj.name,
            "feature": obj.feature,
            **{coord: _fmt(value) for coord, value in zip(COORDS, obj.box.as_list(), strict=False)},
        }

    def current_texts(self) -> dict[str, str]:
        """What the operator typed, even where it is not a number yet."""
        return {
            key: self.query_one(f"#obj-{self.index}-{key}", StepInput).value for key in ("name", "feature", *COORDS)
        }

    def compose(self) -> ComposeResult:
        yield Label(str(self.index + 1), classes="number")
        yield StepInput(
            self.texts["name"], placeholder="name", classes="name", compact=True, id=f"obj-{self.index}-name"
        )
        yield StepInput(
            self.texts["feature"],
            placeholder="feature",
            classes="feature",
            compact=True,
            id=f"obj-{self.index}-feature",
        )
        for coord in COORDS:
            yield StepInput(
                self.texts[coord], placeholder=coord, classes="coord", compact=True, id=f"obj-{self.index}-{coord}"
            )
        yield Button("✕", id=f"obj-{self.index}-remove", classes="remove", tooltip="Remove this object", compact=True)

    def read(self) -> tuple[LayoutObjectRecord | None, list[ProblemRecord]]:
        name = self.query_one(".name", StepInput).value
        feature = self.query_one(".feature", StepInput).value
        values: list[float] = []
        problems: list[ProblemRecord] = []
        for coord in COORDS:
            text = self.query_one(f"#obj-{self.index}-{coord}", StepInput).value
            value = parse_float(text)
            if value is None:
                problems.append(
                    ProblemRecord(
                        code="not_a_number",
                        field=f"objects[{self.index}].box.{coord}",
                        message=f"{coord} of object {self.index + 1} must be a number from 0 to 1, not {text!r}",
                    )
                )
                value = 0.0
            values.append(value)
        obj = LayoutObjectRecord(name=name, feature=feature, box=BoxRecord(**dict(zip(COORDS, values, strict=False))))
        return obj, problems


class LayoutEditor(Widget):
    DEFAULT_CSS = """
    LayoutEditor { height: auto; }
    LayoutEditor #meta { height: 1; margin: 0 0 1 0; }
    LayoutEditor #meta Label { width: 7; padding: 0 0 0 1; }
    LayoutEditor #meta StepInput { margin: 0 1 0 0; }
    LayoutEditor #layout-title { width: 1fr; }
    LayoutEditor #layout-mood { width: 2fr; }
    LayoutEditor #objects { height: auto; }
    LayoutEditor #editor-check { height: auto; color: $text-error; padding: 0 1; }
    LayoutEditor #object-header { height: 1; color: $text-muted; }
    LayoutEditor #object-header .number { width: 4; padding: 0 0 0 1; }
    LayoutEditor #object-header .name { width: 2fr; margin: 0 1 0 0; }
    LayoutEditor #object-header .feature { width: 3fr; margin: 0 1 0 0; }
    LayoutEditor #object-header .coord { width: 7; margin: 0 1 0 0; }
    LayoutEditor #object-header .spacer { width: 3; }
    LayoutEditor #add-object { margin: 0 0 0 4; }
    """

    class Changed(Message):
        def __init__(self, layout: LayoutRecord, input_problems: list[ProblemRecord]) -> None:
            super().__init__()
            self.layout = layout
            self.input_problems = input_problems

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._layout = LayoutRecord()
        self._last: tuple[LayoutRecord, list[ProblemRecord]] | None = None
        #: The render server's caps on the layout's text (DescribeEngine): "title", "mood",
        #: "phrase" (an object's "name, feature"); 0 or missing: not checked here.
        self.text_caps: dict[str, int] = {}

    def compose(self) -> ComposeResult:
        with Horizontal(id="meta"):
            yield Label("Title")
            yield StepInput(placeholder="title", id="layout-title", compact=True)
            yield Label("Mood")
            yield StepInput(placeholder="style word, then the mood", id="layout-mood", compact=True)
        yield Static("", id="editor-check")
        with Horizontal(id="object-header"):
            yield Label("#", classes="number")
            yield Label("name", classes="name")
            yield Label("feature", classes="feature")
            for coord in COORDS:
                yield Label(coord, classes="coord")
            yield Label("", classes="spacer")
        yield Vertical(id="objects")
        yield Button("+ object", id="add-object", compact=True)

    @property
    def layout_record(self) -> LayoutRecord:
        return self._layout

    async def load(self, layout: LayoutRecord | None) -> None:
        """Shows `layout` (from the planner or a session) without posting `Changed`."""
        layout = layout or LayoutRecord()
        self._layout = layout
        self._last = (layout, [])
        title = self.query_one("#layout-title", StepInput)
        mood = self.query_one("#layout-mood", StepInput)
        with title.prevent(StepInput.Changed), mood.prevent(StepInput.Changed):
            title.value = layout.title
            mood.value = layout.mood
        await self._rows([ObjectRow.texts_of(obj) for obj in layout.objects])
        self._over_caps(layout)

    def set_text_caps(self, caps: dict[str, int]) -> None:
        self.text_caps = caps
        self._over_caps(self._layout)

    async def _rows(self, rows: list[dict[str, str]]) -> None:
        container = self.query_one("#objects", Vertical)
        await container.remove_children()
        await container.mount_all(ObjectRow(i, texts) for i, texts in enumerate(rows))

    def read(self) -> tuple[LayoutRecord, list[ProblemRecord]]:
        problems: list[ProblemRecord] = []
        objects: list[LayoutObjectRecord] = []
        for row in self.query(ObjectRow):
            obj, row_problems = row.read()
            problems.extend(row_problems)
            if obj is not None:
                objects.append(obj)
        layout = LayoutRecord(
            title=self.query_one("#layout-title", StepInput).value,
            mood=self.query_one("#layout-mood", StepInput).value,
            objects=objects,
        )
        return layout, problems + self._over_caps(layout)

    def _over_caps(self, layout: LayoutRecord) -> list[ProblemRecord]:
        """Text typed past the render server's caps, marked at its field and listed under the
        title row, before any render is asked for."""
        problems: list[ProblemRecord] = []
        # (cap, problem field, text, the inputs it comes from, what to call it)
        fields: list[tuple[str, str, str, list[str], str]] = [
            ("title", "title", layout.title, ["#layout-title"], "the title"),
            ("mood", "mood", layout.mood, ["#layout-mood"], "the mood"),
        ]
        for index, obj in enumerate(layout.objects):
            fields.append(
                (
                    "phrase",
                    f"objects[{index}]",
                    obj.phrase,
                    [f"#obj-{index}-name", f"#obj-{index}-feature"],
                    f'object {index + 1}\'s name and feature (sent as "name, feature")',
                )
            )
        for cap_name, field, text, widget_ids, what in fields:
            limit = self.text_caps.get(cap_name, 0)
            over = limit > 0 and len(text.strip()) > limit
            for widget_id in widget_ids:
                self.query(widget_id).set_class(over, "-invalid")
            if over:
                problems.append(
                    ProblemRecord(
                        code="too_long",
                        field=field,
                        message=f"{what} has {len(text.strip())} characters; the render server takes at most "
                        f"{limit}: shorten it by {len(text.strip()) - limit}",
                    )
                )
        check = self.query_one("#editor-check", Static)
        check.update("\n".join(f"✕ {p.message}" for p in problems))
        check.display = bool(problems)
        return problems

    def _publish(self) -> None:
        layout, problems = self.read()
        if self._last is not None and self._last == (layout, problems):
            return
        self._last = (layout, problems)
        self._layout = layout
        self.post_message(self.Changed(layout, problems))

    @on(StepInput.Changed)
    def _edited(self, event: StepInput.Changed) -> None:
        event.stop()
        self._publish()

    @on(Button.Pressed, "#add-object")
    async def _add(self, event: Button.Pressed) -> None:
        event.stop()
        rows = [row.current_texts() for row in self.query(ObjectRow)]
        await self._rows([*rows, ObjectRow.texts_of(NEW_OBJECT)])
        self._publish()

    @on(Button.Pressed, ".remove")
    async def _remove(self, event: Button.Pressed) -> None:
        event.stop()
        removed = event.button.parent
        if not isinstance(removed, ObjectRow):
            return
        rows = [row.current_texts() for row in self.query(ObjectRow) if row is not removed]
        await self._rows(rows)
        self._publish()
