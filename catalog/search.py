"""Full-text search of products in PostgreSQL, with a trigram fallback for typos.

Each product's `search_vector` is kept by the database (migration 0004): its name weighs
most (A), then its active variants' SKUs and attribute values (B), then its description
(C), so ts_rank puts a product named "hoodie" above one whose description mentions one.
The words typed are matched as prefixes ("hood" finds "hoodie") after English stemming.

When no product matches the words at all, the listing falls back to similar words:
each typed word is compared, by trigram similarity (pg_trgm's measure), with the words
of the products' names, SKUs and attributes, and a product matches when every typed word
is close enough to one of them ("hoodei" finds hoodies)."""
from __future__ import annotations

import re
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import Expression, F, FloatField, Q, TextField, Value

SEARCH_CONFIG = "english"  # the configuration the vector is built with (migration 0004)
FUZZY_THRESHOLD = 0.3  # pg_trgm's default similarity threshold
MAX_WORDS = 10
_WORD = re.compile(r"[^\W_]+")


def query_words(text: str) -> list[str]:
    """The words of a search, lower-cased: letters and digits only, so nothing typed
    can change the query's syntax."""
    return _WORD.findall(text.lower())[:MAX_WORDS]


def text_query(text: str) -> SearchQuery | None:
    """Every word, as a prefix of a stemmed word of the product."""
    words = query_words(text)
    if not words:
        return None
    return SearchQuery(" & ".join(f"{word}:*" for word in words), config=SEARCH_CONFIG, search_type="raw")


def matches_text(query: SearchQuery) -> Q:
    return Q(search_vector=query)


def text_rank(query: SearchQuery) -> Expression:
    return SearchRank(F("search_vector"), query)


class FuzzyScore(Expression):
    """The worst of each typed word's best trigram similarity to a name, SKU or attribute
    word of the product (its lexemes of weight A and B); NULL when it has none."""

    output_field = FloatField()

    def __init__(self, words: list[str]):
        super().__init__()
        self.words = Value(words, output_field=ArrayField(TextField()))
        self.vector = F("search_vector")

    def get_source_expressions(self) -> list[Any]:
        return [self.words, self.vector]

    def set_source_expressions(self, exprs: list[Any]) -> None:
        self.words, self.vector = exprs

    def as_sql(self, compiler, connection):  # type: ignore[no-untyped-def]
        words_sql, words_params = compiler.compile(self.words)
        vector_sql, vector_params = compiler.compile(self.vector)
        sql = (
            "(SELECT min(best) FROM (SELECT max(catalog_similarity(typed, lexeme)) AS best"
            f" FROM unnest({words_sql}::text[]) AS typed"
            f" CROSS JOIN unnest(tsvector_to_array(ts_filter({vector_sql}, '{{a,b}}'))) AS lexeme"
            " GROUP BY typed) AS per_word)"
        )
        return sql, (*words_params, *vector_params)


def fuzzy_score(text: str) -> FuzzyScore | None:
    words = query_words(text)
    return FuzzyScore(words) if words else None
