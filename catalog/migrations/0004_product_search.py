# Product search (storefront issue): a full-text vector kept by the database, a natural
# sort key, a best-selling counter, and a trigram similarity for typos.
#
# pg_trgm is used where the server has it (any packaged PostgreSQL). The private server of
# `make run` and `make test` without DATABASE_URL (the pgserver wheel) ships no contrib
# extensions, so there catalog_similarity() is the same measure written in SQL: it lets
# the migration and the typo fallback work on both, with one code path in the shop.
import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations, models
from django.db.models import F, Func

# pg_trgm's similarity(): words of letters and digits, lower-cased, padded "  word ", the
# set of their 3-character pieces; shared pieces / all pieces. %(name)s: the function name.
SIMILARITY_IN_SQL = """
CREATE OR REPLACE FUNCTION %(name)s(a text, b text) RETURNS real
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
  WITH pieces AS (
    SELECT ARRAY(
             SELECT DISTINCT substr(w, i, 3)
             FROM (SELECT '  ' || word || ' ' AS w
                   FROM regexp_split_to_table(lower(a), '[^[:alnum:]]+') AS word WHERE word <> '') AS words,
                  generate_series(1, length(w) - 2) AS i
           ) AS pa,
           ARRAY(
             SELECT DISTINCT substr(w, i, 3)
             FROM (SELECT '  ' || word || ' ' AS w
                   FROM regexp_split_to_table(lower(b), '[^[:alnum:]]+') AS word WHERE word <> '') AS words,
                  generate_series(1, length(w) - 2) AS i
           ) AS pb
  ), counts AS (
    SELECT cardinality(pa) AS na, cardinality(pb) AS nb,
           (SELECT count(*) FROM unnest(pa) AS piece WHERE piece = ANY (pb)) AS shared
    FROM pieces
  )
  SELECT CASE WHEN na + nb - shared = 0 THEN 0::real ELSE (shared::real / (na + nb - shared))::real END FROM counts
$fn$;
"""

TRIGRAMS = """
DO $do$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
    CREATE OR REPLACE FUNCTION catalog_similarity(a text, b text) RETURNS real
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT similarity(a, b)';
  ELSE
    EXECUTE %s;
  END IF;
END
$do$;
"""

NATURAL_SORT_KEY = r"""
CREATE OR REPLACE FUNCTION catalog_natural_sort_key(name text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
  SELECT coalesce(string_agg(
           CASE WHEN m.part[1] ~ '^[0-9]' THEN lpad(ltrim(m.part[1], '0'), 20, '0') ELSE lower(m.part[1]) END,
           '' ORDER BY m.n), '')
  FROM regexp_matches(name, '[0-9]+|[^0-9]+', 'g') WITH ORDINALITY AS m(part, n)
$fn$;
"""

# The vector: name (A), the active variants' SKUs (also split at punctuation, so "TEE-01-M"
# is found as typed) and attribute values (B), description (C).
# Triggers keep it current whatever writes the rows (admin, the import's plain UPDATEs, SQL).
SEARCH_VECTOR = """
CREATE OR REPLACE FUNCTION catalog_product_search_vector(product_id bigint, name text, description text)
RETURNS tsvector LANGUAGE sql STABLE AS $fn$
  SELECT setweight(to_tsvector('english', coalesce($2, '')), 'A')
      || setweight(to_tsvector('english', coalesce((
           SELECT string_agg(v.sku || ' ' || regexp_replace(v.sku, '[^[:alnum:]]+', ' ', 'g') || ' ' || coalesce((
                    SELECT string_agg(attribute.value, ' ')
                    FROM jsonb_each_text(CASE WHEN jsonb_typeof(v.attributes) = 'object' THEN v.attributes ELSE '{}'::jsonb END)
                         AS attribute), ''), ' ' ORDER BY v.position, v.id)
           FROM catalog_variant v WHERE v.product_id = $1 AND v.is_active), '')), 'B')
      || setweight(to_tsvector('english', coalesce($3, '')), 'C')
$fn$;

CREATE OR REPLACE FUNCTION catalog_product_search_on_write() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  NEW.search_vector := catalog_product_search_vector(NEW.id, NEW.name, NEW.description);
  RETURN NEW;
END
$fn$;

CREATE OR REPLACE FUNCTION catalog_variant_search_on_write() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    UPDATE catalog_product SET search_vector = catalog_product_search_vector(id, name, description) WHERE id = OLD.product_id;
  END IF;
  IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.product_id IS DISTINCT FROM OLD.product_id) THEN
    UPDATE catalog_product SET search_vector = catalog_product_search_vector(id, name, description) WHERE id = NEW.product_id;
  END IF;
  RETURN NULL;
END
$fn$;

CREATE TRIGGER catalog_product_search BEFORE INSERT OR UPDATE OF name, description ON catalog_product
  FOR EACH ROW EXECUTE FUNCTION catalog_product_search_on_write();
CREATE TRIGGER catalog_variant_search AFTER INSERT OR DELETE OR UPDATE OF sku, attributes, is_active, product_id
  ON catalog_variant FOR EACH ROW EXECUTE FUNCTION catalog_variant_search_on_write();

UPDATE catalog_product SET search_vector = catalog_product_search_vector(id, name, description);
"""

DROP_SEARCH_VECTOR = """
DROP TRIGGER IF EXISTS catalog_variant_search ON catalog_variant;
DROP TRIGGER IF EXISTS catalog_product_search ON catalog_product;
DROP FUNCTION IF EXISTS catalog_variant_search_on_write();
DROP FUNCTION IF EXISTS catalog_product_search_on_write();
DROP FUNCTION IF EXISTS catalog_product_search_vector(bigint, text, text);
"""


def _quoted(sql: str) -> str:
    return "$emulation$" + sql + "$emulation$"


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0003_product_images"),
    ]

    operations = [
        migrations.RunSQL(
            TRIGRAMS % _quoted(SIMILARITY_IN_SQL % {"name": "catalog_similarity"}),
            # pg_trgm stays: other schemas may use it.
            "DROP FUNCTION IF EXISTS catalog_similarity(text, text);",
        ),
        migrations.RunSQL(NATURAL_SORT_KEY, "DROP FUNCTION IF EXISTS catalog_natural_sort_key(text);"),
        migrations.AddField(
            model_name="product",
            name="name_sort",
            field=models.GeneratedField(
                db_persist=True,
                expression=Func(F("name"), function="catalog_natural_sort_key", output_field=models.TextField()),
                output_field=models.TextField(),
            ),
        ),
        migrations.AddField(
            model_name="product",
            name="search_vector",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="product",
            name="units_sold",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AlterModelOptions(name="product", options={"ordering": ["name_sort", "id"]}),
        migrations.AddIndex(
            model_name="product",
            index=django.contrib.postgres.indexes.GinIndex(fields=["search_vector"], name="catalog_product_search_gin"),
        ),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(fields=["name_sort", "id"], name="catalog_product_name_sort"),
        ),
        # Last: filling the column leaves deferred constraint checks that no index may follow.
        migrations.RunSQL(SEARCH_VECTOR, DROP_SEARCH_VECTOR),
    ]
