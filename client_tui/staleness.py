"""Why a product of the flow no longer matches what it was made from, in words a person reads
in the console and the summary. `Session.stale_steps` asks these with what it recorded."""

from __future__ import annotations

from pydantic import BaseModel


def _movies(count: int) -> str:
    return f"{count} watched movie" + ("" if count == 1 else "s")


def recommendation_drift(made_from: list[int], made_k: int | None, watched: list[int], k: int) -> str:
    """Empty when the recommendations still match the watched ids (oldest first) and k."""
    reasons: list[str] = []
    if watched != made_from:
        if len(watched) != len(made_from):
            now = str(len(watched)) if watched else "none"
            reasons.append(f"recommendations were made from {_movies(len(made_from))}; the list now has {now}")
        elif sorted(watched) == sorted(made_from):
            # SASRec reads the order: the same movies in another order are another history.
            reasons.append("the watched movies were reordered after the recommendations were made")
        else:
            reasons.append(f"recommendations were made from a different list of {_movies(len(made_from))}")
    if made_k is not None and made_k != k:
        reasons.append(f"recommendations were asked with k={made_k}; k is now {k}")
    return "; ".join(reasons)


def image_drift(
    rendered_layout: BaseModel | None,
    rendered_prompt: str | None,
    rendered_params: BaseModel | None,
    layout: BaseModel | None,
    prompt: str,
    params: BaseModel,
) -> str:
    """Empty when the image still matches the layout, prompt and settings it was rendered from
    (None: not recorded, so not judged)."""
    if rendered_layout is not None and rendered_layout != layout:
        return "the layout changed after the image was rendered"
    if rendered_prompt is not None and rendered_prompt != prompt:
        return "the global prompt changed after the image was rendered"
    if rendered_params is not None and rendered_params != params:
        before, now = rendered_params.model_dump(), params.model_dump()
        changes = ", ".join(
            f"{name.replace('_', ' ')} {before[name]} → {now[name]}" for name in before if before[name] != now[name]
        )
        return f"the render settings changed after the image was rendered ({changes})"
    return ""


def mark_stale(sections: dict[str, list[str]], stale: dict[str, str], headings: dict[str, str]) -> dict[str, list[str]]:
    """The summary's sections with each out-of-date one marked in its heading and its first line,
    so a summary (and so an export) never shows products that disagree without saying so.
    `headings`: step -> the heading of the section that shows it."""
    marked: dict[str, list[str]] = {}
    by_heading = {headings[step]: reason for step, reason in stale.items() if step in headings}
    for heading, lines in sections.items():
        reason = by_heading.get(heading)
        if reason:
            marked[f"{heading} — OUT OF DATE"] = [f"Out of date: {reason}.", *lines]
        else:
            marked[heading] = lines
    return marked
