"""A queryset's SQL built once per process and run again with new values.

For the hottest reads (a product page's variants with their stock), building the
queryset with the ORM and compiling it costs more CPU than PostgreSQL spends running it.
`CompiledQuery` builds the queryset once with sample values of its parameters, finds
where each sample lands among the compiled SQL's parameters, and from then on runs the
same SQL with the request's values through `Model.objects.raw` (annotations become
attributes of the instances, as with the ORM). The queryset stays the one place the
query is written; a sample that cannot be told apart from the query's other parameters
is refused when it is compiled, so a value can never land in the wrong place.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.db.models import Model, QuerySet
from django.db.models.query import RawQuerySet

M = TypeVar("M", bound=Model)


class CompiledQuery(Generic[M]):
    def __init__(self, build: Callable[..., QuerySet[M]], **samples: Any) -> None:
        """`build(**values)` returns the queryset; `samples` are values for it that
        appear nowhere else among its parameters (an id below zero, a date in 1901)."""
        self._build = build
        self._samples = samples
        self._compiled: dict[str, tuple[type[M], str, list[Any], dict[str, list[int]]]] = {}

    def _compile(self, alias: str) -> tuple[type[M], str, list[Any], dict[str, list[int]]]:
        queryset = self._build(**self._samples)
        sql, params = queryset.query.get_compiler(using=alias).as_sql()
        params = list(params)
        slots: dict[str, list[int]] = {}
        for name, sample in self._samples.items():
            slots[name] = [i for i, param in enumerate(params) if type(param) is type(sample) and param == sample]
            if not slots[name]:
                raise ValueError(f"CompiledQuery: the sample {name}={sample!r} is not among the query's parameters.")
        taken = [i for positions in slots.values() for i in positions]
        if len(taken) != len(set(taken)):
            raise ValueError("CompiledQuery: two samples share a parameter; give each a value of its own.")
        return queryset.model, sql, params, slots

    def raw(self, *, using: str = "default", **values: Any) -> RawQuerySet:
        """The query with these values, as a raw queryset of the model's instances."""
        compiled = self._compiled.get(using)
        if compiled is None:
            compiled = self._compiled[using] = self._compile(using)
        model, sql, params, slots = compiled
        if values.keys() != slots.keys():
            raise TypeError(f"CompiledQuery takes exactly {sorted(slots)}, got {sorted(values)}.")
        params = list(params)
        for name, positions in slots.items():
            for i in positions:
                params[i] = values[name]
        return model._default_manager.db_manager(using).raw(sql, params)

