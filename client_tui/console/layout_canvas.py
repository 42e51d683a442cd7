"""The layout drawn in the terminal: numbered boxes on a canvas with the image's aspect, and a
legend that names each number. Colours match the summary's layout drawing."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from client_tui.records import LayoutRecord
from marquee.layout_drawing import box_hex as box_colour

#: Terminal cells are about twice as tall as wide.
CELL_ASPECT = 2.0


def canvas_size(width: int, height: int, aspect: float) -> tuple[int, int]:
    """The largest grid (columns, rows) within width x height that shows `aspect` (w/h)."""
    width, height = max(width, 4), max(height, 3)
    columns = width
    rows = round(columns / aspect / CELL_ASPECT)
    if rows > height:
        rows = height
        columns = round(rows * aspect * CELL_ASPECT)
    return max(columns, 4), max(rows, 3)


def draw_canvas(layout: LayoutRecord | None, columns: int, rows: int) -> list[Text]:
    chars = [["·"] * columns for _ in range(rows)]
    styles: list[list[Style]] = [[Style(color="grey35")] * columns for _ in range(rows)]
    if layout is not None:
        for index, obj in enumerate(layout.objects):
            style = Style(color=box_colour(index), bold=True)
            values = [min(max(v, 0.0), 1.0) for v in obj.box.as_list()]
            left, right = sorted((round(values[0] * (columns - 1)), round(values[2] * (columns - 1))))
            top, bottom = sorted((round(values[1] * (rows - 1)), round(values[3] * (rows - 1))))
            right, bottom = max(right, left + 1), max(bottom, top + 1)
            right, bottom = min(right, columns - 1), min(bottom, rows - 1)

            def put(x: int, y: int, char: str, style: Style = style) -> None:
                if 0 <= x < columns and 0 <= y < rows:
                    chars[y][x] = char
                    styles[y][x] = style

            for x in range(left + 1, right):
                put(x, top, "─")
                put(x, bottom, "─")
            for y in range(top + 1, bottom):
                put(left, y, "│")
                put(right, y, "│")
            put(left, top, "┌")
            put(right, top, "┐")
            put(left, bottom, "└")
            put(right, bottom, "┘")
            label = str(index + 1)
            for offset, char in enumerate(label):
                put(left + 1 + offset, top, char)
    lines = []
    for y in range(rows):
        line = Text()
        for x in range(columns):
            line.append(chars[y][x], styles[y][x])
        lines.append(line)
    return lines


class LayoutCanvas(Widget):
    DEFAULT_CSS = """
    LayoutCanvas { height: 1fr; min-height: 8; }
    """

    layout_record: reactive[LayoutRecord | None] = reactive(None, always_update=True)
    aspect: reactive[float] = reactive(1.0)

    def render(self) -> Text:
        columns, rows = canvas_size(self.size.width, self.size.height, self.aspect)
        return Text("\n").join(draw_canvas(self.layout_record, columns, rows))


class LayoutLegend(Widget):
    DEFAULT_CSS = """
    LayoutLegend { height: auto; }
    """

    layout_record: reactive[LayoutRecord | None] = reactive(None, always_update=True, layout=True)

    def render(self) -> Text:
        layout = self.layout_record
        if layout is None or not layout.objects:
            return Text("No layout yet: plan one (F7) or open a session.", style="dim")
        text = Text()
        for index, obj in enumerate(layout.objects):
            if index:
                text.append("\n")
            text.append(f" {index + 1} ", Style(bgcolor=box_colour(index), color="white", bold=True))
            text.append(f" {obj.name}", "bold")
            if obj.feature:
                text.append(f" — {obj.feature}")
            box = ", ".join(f"{v:.2f}" for v in obj.box.as_list())
            text.append(f"  [{box}]", "dim")
        return text
