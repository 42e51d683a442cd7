"""Every part of a layout editable: title, mood, and each object's name, feature and box. The
editor posts `Changed` with the layout it now holds (and the numbers it could not read); the app
validates that with the planner and sends the problems back down."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Label

from client_tui.console.fields import StepInput, parse_float
from client_tui.session import BoxRecord, LayoutObjectRecord, LayoutRecord, ProblemRecord

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

    def __init__(self, index: int, obj: LayoutObjectRecord) -> None:
        super().__init__(classes="object-row")
        self.index = index
        self.obj = obj

    def compose(self) -> ComposeResult:
        yield Label(str(self.index + 1), classes="number")
        yield StepInput(self.obj.name, placeholder="name", classes="name", compact=True, id=f"obj-{self.index}-name")
        yield StepInput(self.obj.feature, placeholder="feature", classes="feature", compact=True, id=f"obj-{self.index}-feature")
        for coord, value in zip(COORDS, self.obj.box.as_list()):
            yield StepInput(_fmt(value), placeholder=coord, classes="coord", compact=True, id=f"obj-{self.index}-{coord}")
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
        obj = LayoutObjectRecord(name=name, feature=feature, box=BoxRecord(**dict(zip(COORDS, values))))
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
        self._generation = 0

    def compose(self) -> ComposeResult:
        with Horizontal(id="meta"):
            yield Label("Title")
            yield StepInput(placeholder="title", id="layout-title", compact=True)
            yield Label("Mood")
            yield StepInput(placeholder="style word, then the mood", id="layout-mood", compact=True)
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
        self._generation += 1
        title = self.query_one("#layout-title", StepInput)
        mood = self.query_one("#layout-mood", StepInput)
        with title.prevent(StepInput.Changed), mood.prevent(StepInput.Changed):
            title.value = layout.title
            mood.value = layout.mood
        container = self.query_one("#objects", Vertical)
        await container.remove_children()
        await container.mount_all(ObjectRow(i, obj) for i, obj in enumerate(layout.objects))

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
        return layout, problems

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
        layout, _ = self.read()
        layout = layout.model_copy(update={"objects": [*layout.objects, NEW_OBJECT.model_copy(deep=True)]})
        await self.load(layout)
        self._last = None
        self._publish()

    @on(Button.Pressed, ".remove")
    async def _remove(self, event: Button.Pressed) -> None:
        event.stop()
        row = event.button.parent
        if not isinstance(row, ObjectRow):
            return
        layout, _ = self.read()
        objects = [o for i, o in enumerate(layout.objects) if i != row.index]
        await self.load(layout.model_copy(update={"objects": objects}))
        self._last = None
        self._publish()
