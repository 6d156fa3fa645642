"""Small text helpers shared by every app."""
from __future__ import annotations

# How much of a client's input an error message repeats back.
ECHO_LIMIT = 60


def truncate(value: object, limit: int = ECHO_LIMIT) -> str:
    """`value` as text of at most `limit` characters, ending in "…" when cut: for
    messages that echo input, so that a huge input is never sent back whole."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
