"""Rendered page fragments kept by what they show.

A fragment (a product card, a product page's content) is cached under a digest of every
value it renders, read afresh from the database on each request: the price, the stock
each variant has left, the pictures, the currency's rate, the language. Nothing has to
invalidate anything: when a value changes, the digest does, and the next request renders
the fragment anew; an entry nobody asks for any more ages out. What is saved is the
template work (about half of a product page's CPU), never the reads, so a page shows the
same thing cached or not.

Templates use Django's own tag with the digest and the language as its keys:
`{% cache FRAGMENT_SECONDS "name" digest LANGUAGE_CODE using="fragments" %}`. The
`fragments` cache is each process's own memory (settings.CACHES): entries are read many
times a second, are worth nothing to another process that can render them in a few
milliseconds, and a deploy's new templates start with an empty cache.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from functools import lru_cache
from operator import attrgetter
from typing import Any

from django.db.models import Model

# How long an entry is kept without being asked for again; a fragment's content never
# goes stale within it (it is keyed by that content), this only bounds the memory.
FRAGMENT_SECONDS = 600


def model_values(instance: Model, *extra: str) -> tuple[Any, ...]:
    """A model instance's stored values (every concrete field) and the named extra
    attributes (annotations such as a variant's `available`), with its model's name."""
    return (instance._meta.label, _values_getter(type(instance), extra)(instance))


@lru_cache(maxsize=None)
def _values_getter(model: type[Model], extra: tuple[str, ...]) -> Callable[[Model], tuple[Any, ...]]:
    # One C-level getter per model: a list page takes the values of a hundred instances.
    return attrgetter(*(field.attname for field in model._meta.concrete_fields), *extra)


def digest(parts: Iterable[Any]) -> str:
    """A short digest of the parts' reprs (values of the standard types and tuples of them:
    Decimal, datetime, str, int, dict keep their content in repr)."""
    return hashlib.blake2b(repr(tuple(parts)).encode(), digest_size=16).hexdigest()
