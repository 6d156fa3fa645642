"""Full-text search of products in PostgreSQL, with a trigram fallback for typos.

Each product's `search_vector` is kept by the database (migration 0004): its name weighs
most (A), then its active variants' SKUs and attribute values (B), then its description
(C), so ts_rank puts a product named "hoodie" above one whose description mentions one.
The words typed are matched as prefixes ("hood" finds "hoodie") after English stemming.

When no product matches the words at all, the listing falls back to similar words:
each typed word is compared, by trigram similarity (pg_trgm's measure, worked out here in
Python), with the vocabulary of the products' names, SKUs and attributes, and a product
matches when every typed word is close enough to one of its words ("hoodei" finds
hoodies). One query reads the vocabulary; the products are then found by full text, so
the fallback costs about what an exact search does, with or without pg_trgm."""
from __future__ import annotations

import re
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import Expression, F, FloatField, Q

from shop.request_memo import remembered

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


class LexemeQuery(SearchQuery):
    """A tsquery written out lexeme by lexeme (already stemmed: no configuration applies);
    `None` matches nothing."""

    def __init__(self, tsquery: str | None):
        super().__init__(tsquery or "", config="simple", search_type="raw")
        self.tsquery = tsquery

    def as_sql(self, compiler, connection, **extra_context):  # type: ignore[no-untyped-def]
        if self.tsquery is None:
            return "NULL::tsquery", []
        return "%s::tsquery", [self.tsquery]


def trigrams(text: str) -> set[str]:
    """pg_trgm's trigrams of a text: each word of letters and digits, lower-cased and
    padded "  word ", cut into its 3-character pieces."""
    return {
        padded[i : i + 3]
        for word in _WORD.findall(text.lower())
        for padded in (f"  {word} ",)
        for i in range(len(padded) - 2)
    }


def similarity(a: str, b: str) -> float:
    """pg_trgm's similarity(): shared trigrams / all trigrams of the two texts."""
    pieces_a, pieces_b = trigrams(a), trigrams(b)
    union = len(pieces_a | pieces_b)
    return len(pieces_a & pieces_b) / union if union else 0.0


def vocabulary() -> list[str]:
    """The distinct name, SKU and attribute lexemes (weights A and B) of active products:
    what a typed word is corrected against. Read at most once per request."""

    def read() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT DISTINCT lexeme FROM catalog_product,"
                " unnest(tsvector_to_array(ts_filter(search_vector, '{a,b}'))) AS lexeme"
                " WHERE is_active"
            )
            return [row[0] for row in cursor.fetchall()]

    return remembered(("catalog.search.vocabulary",), read)


def _quoted_lexeme(lexeme: str) -> str:
    escaped = lexeme.replace("\\", "\\\\").replace("'", "''")
    return f"'{escaped}':AB"


class FuzzyScore(Expression):
    """Typed words corrected against the catalogue's vocabulary (each word's lexemes at
    least FUZZY_THRESHOLD similar). `query` finds the products with, for every typed word,
    one of its lexemes among their names, SKUs and attributes; the score is the worst of
    each typed word's best similarity in the product, as pg_trgm would give it."""

    output_field = FloatField()

    def __init__(self, similar: list[dict[str, float]]):
        super().__init__()
        self.similar = similar
        if all(similar):
            self.query = LexemeQuery(
                " & ".join("(" + " | ".join(_quoted_lexeme(lexeme) for lexeme in lexemes) + ")" for lexemes in similar)
            )
        else:  # a typed word like nothing in the catalogue: nothing matches
            self.query = LexemeQuery(None)
        self.vector = F("search_vector")

    def get_source_expressions(self) -> list[Any]:
        return [self.vector]

    def set_source_expressions(self, exprs: list[Any]) -> None:
        (self.vector,) = exprs

    def as_sql(self, compiler, connection):  # type: ignore[no-untyped-def]
        if not all(self.similar):
            return "NULL::real", []
        vector_sql, vector_params = compiler.compile(self.vector)
        per_word, params = [], []
        for lexemes in self.similar:
            cases = []
            for lexeme, score in lexemes.items():
                cases.append(f"CASE WHEN {vector_sql} @@ %s::tsquery THEN %s END")
                params.extend([*vector_params, _quoted_lexeme(lexeme), score])
            per_word.append(f"COALESCE(GREATEST({', '.join(cases)}), 0)")
        return f"LEAST({', '.join(per_word)})::real", params


MAX_SIMILAR = 30  # lexemes kept per typed word, the most similar: bounds the query's size


def fuzzy_score(text: str) -> FuzzyScore | None:
    words = query_words(text)
    if not words:
        return None
    lexemes = vocabulary()
    similar = []
    for word in words:
        scored = ((lexeme, similarity(word, lexeme)) for lexeme in lexemes)
        close = sorted(((s, lexeme) for lexeme, s in scored if s >= FUZZY_THRESHOLD), key=lambda p: (-p[0], p[1]))
        similar.append({lexeme: s for s, lexeme in close[:MAX_SIMILAR]})
    return FuzzyScore(similar)
