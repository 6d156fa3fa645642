"""Reserve and release do less under the hot row's lock (issue 13, lock hold <= 1.5x the
bare SQL's).

inventory_reserve gains `p_refuse_by_error` (default false: the 0004 behaviour). With it
true the function refuses a short reserve by raising SQLSTATE IS001 (DETAIL: the short
items as JSON, [[variant_id, requested, available], ...]) instead of returning them, so
it needs no subtransaction and its caller can send COMMIT in the same round trip: the
server skips that COMMIT after an error (inventory.locks.run_locked). Without it the
function runs that same work in a subtransaction (a call of itself with the flag set)
and turns IS001 into the short rows, undone and unlocked, as before.

Less work under the lock for both reserve and release:
- an expired reservation of the locked rows, or (reserve) a live one of the holder, is
  looked for first by an index probe of each kind; usually there is none, and then
  nothing is closed: reserve writes `reserved` and the reservation rows in one
  statement, as the bare SQL does, with no arrays built and no second pass over its
  result; release closes the holder's reservations through the holder's own partial
  index (a plain index scan, which skips and marks the entries of closed reservations;
  a bitmap scan, as a condition with OR gets, visits every reservation the holder ever
  closed until a vacuum) and gives their units back in the same statement. Only when
  something expired does the 0004 closing (a UNION of the two kinds) run.
- the stock rows are found through their key (`= ANY`), never by a scan of the table:
  the plans are generic (plan_cache_mode), made at a session's first call, and a plan
  made on a small table would scan it however large it grew.
Everything else holds as in 0004: the rows are locked first, in ascending variant id, in
a statement of their own (what follows sees what the transactions it waited for wrote),
expired reservations are released under the lock (invariant 2), `reserved` moves with
the reservation rows (invariant 1), on_hand is never touched (invariant 3).
"""
import importlib

from django.db import migrations

FUNCTIONS = r"""
DROP FUNCTION IF EXISTS inventory_reserve(bigint[], integer[], uuid, timestamptz, timestamptz);

-- Reserve `p_quantities` of `p_variants` (ascending, distinct) for `p_holder`, all or none.
-- The holder's live reservations on these variants are replaced. Returns one row per
-- reservation written (reservation_id set, available NULL), by variant id.
-- Short: with p_refuse_by_error, SQLSTATE IS001 (DETAIL: JSON [[variant, requested,
-- available], ...]), the statement's work undone with it; without, one row per short
-- item (reservation_id NULL, quantity = requested, available) after undoing everything
-- it did, locks included (a subtransaction): a refused reserve holds no stock row.
CREATE FUNCTION inventory_reserve(
    p_variants bigint[], p_quantities integer[], p_holder uuid, p_expires timestamptz, p_now timestamptz,
    p_refuse_by_error boolean DEFAULT false
) RETURNS TABLE (reservation_id bigint, variant_id bigint, quantity integer, available integer)
LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan AS $fn$
#variable_conflict use_column
DECLARE
    written integer;
    short text;
BEGIN
    IF NOT p_refuse_by_error THEN
        BEGIN  -- a subtransaction: a shortage rolls it back, and the locks go with it
            RETURN QUERY SELECT r.reservation_id, r.variant_id, r.quantity, r.available
                           FROM inventory_reserve(p_variants, p_quantities, p_holder, p_expires, p_now, true) AS r;
            RETURN;
        EXCEPTION WHEN SQLSTATE 'IS001' THEN
            GET STACKED DIAGNOSTICS short = PG_EXCEPTION_DETAIL;
        END;
        RETURN QUERY SELECT NULL::bigint, (e.item ->> 0)::bigint, (e.item ->> 1)::integer, (e.item ->> 2)::integer
                       FROM json_array_elements(short::json) AS e(item);
        RETURN;
    END IF;

    PERFORM 1 FROM inventory_stock AS s WHERE s.variant_id = ANY(p_variants) ORDER BY s.variant_id FOR UPDATE;
    -- Close the rows' expired reservations and the holder's live ones, giving their units
    -- back. A probe first, each kind through its own index: usually there is nothing to
    -- close, and then no UPDATE runs.
    IF EXISTS (SELECT 1 FROM inventory_reservation AS r
                WHERE r.variant_id = ANY(p_variants) AND r.status = 'active' AND r.expires_at <= p_now)
       OR EXISTS (SELECT 1 FROM inventory_reservation AS r
                   WHERE r.holder_id = p_holder AND r.variant_id = ANY(p_variants) AND r.status = 'active') THEN
        WITH closing AS (
            SELECT r.id FROM inventory_reservation AS r
             WHERE r.variant_id = ANY(p_variants) AND r.status = 'active' AND r.expires_at <= p_now
            UNION
            SELECT r.id FROM inventory_reservation AS r
             WHERE r.holder_id = p_holder AND r.variant_id = ANY(p_variants) AND r.status = 'active'
        ), closed AS (
            UPDATE inventory_reservation AS r
               SET status = CASE WHEN r.expires_at <= p_now THEN 'expired' ELSE 'released' END, closed_at = p_now
             WHERE r.id IN (SELECT closing.id FROM closing) AND r.status = 'active'
               AND (r.expires_at <= p_now OR r.holder_id = p_holder)
         RETURNING r.variant_id, r.quantity
        )
        UPDATE inventory_stock AS s
           SET reserved = s.reserved - c.quantity, updated_at = p_now
          FROM (SELECT closed.variant_id, sum(closed.quantity) AS quantity FROM closed GROUP BY closed.variant_id) AS c
         WHERE s.variant_id = ANY(p_variants) AND s.variant_id = c.variant_id;
    END IF;
    -- `reserved` and the reservation rows in one statement, as the bare SQL does; a short
    -- item's row is left as it is (the guard), so fewer rows are written than asked for.
    -- The rows are found through their key (= ANY): never a scan of the table.
    RETURN QUERY
    WITH added AS (
        UPDATE inventory_stock AS s
           SET reserved = s.reserved + item.quantity, updated_at = p_now
          FROM unnest(p_variants, p_quantities) AS item(variant_id, quantity)
         WHERE s.variant_id = ANY(p_variants) AND s.variant_id = item.variant_id
           AND s.on_hand - s.reserved >= item.quantity
     RETURNING s.variant_id, item.quantity
    ), inserted AS (
        INSERT INTO inventory_reservation AS r (holder_id, variant_id, quantity, status, expires_at, created_at)
        SELECT p_holder, added.variant_id, added.quantity, 'active', p_expires, p_now FROM added
        RETURNING r.id, r.variant_id, r.quantity
    )
    SELECT inserted.id, inserted.variant_id, inserted.quantity::integer, NULL::integer
      FROM inserted ORDER BY inserted.variant_id;
    GET DIAGNOSTICS written = ROW_COUNT;
    IF written < cardinality(p_variants) THEN
        -- Short. An item was reserved iff the holder now has a live reservation of it (its
        -- earlier ones were closed above); the others' rows are as the closing left them.
        SELECT json_agg(json_build_array(d.variant_id, d.quantity, greatest(coalesce(s.on_hand - s.reserved, 0), 0))
                        ORDER BY d.variant_id)
          INTO short
          FROM unnest(p_variants, p_quantities) AS d(variant_id, quantity)
          LEFT JOIN inventory_stock AS s ON s.variant_id = d.variant_id AND s.variant_id = ANY(p_variants)
         WHERE NOT EXISTS (SELECT 1 FROM inventory_reservation AS r
                            WHERE r.holder_id = p_holder AND r.variant_id = d.variant_id AND r.status = 'active');
        RAISE SQLSTATE 'IS001' USING MESSAGE = 'insufficient stock', DETAIL = short;
    END IF;
END
$fn$;

-- Close the live reservations of `p_holder` (if given) and the expired ones of the rows
-- locked: `p_variants` (ascending; the sweeper), or, when NULL, the rows `p_holder` has
-- live reservations on (a cancelled or abandoned checkout). Returns the units given back.
CREATE OR REPLACE FUNCTION inventory_release(
    p_variants bigint[], p_holder uuid, p_now timestamptz
) RETURNS integer
LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan AS $fn$
#variable_conflict use_column
DECLARE
    locked bigint[];
    freed integer;
BEGIN
    IF p_variants IS NULL THEN
        SELECT array_agg(l.variant_id) INTO locked FROM (
            SELECT s.variant_id FROM inventory_stock AS s
             WHERE s.variant_id IN (SELECT r.variant_id FROM inventory_reservation AS r
                                     WHERE r.holder_id = p_holder AND r.status = 'active')
             ORDER BY s.variant_id FOR UPDATE
        ) AS l;
        IF locked IS NULL THEN
            RETURN 0;
        END IF;
    ELSE
        PERFORM 1 FROM inventory_stock AS s WHERE s.variant_id = ANY(p_variants) ORDER BY s.variant_id FOR UPDATE;
        locked := p_variants;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM inventory_reservation AS r
                    WHERE r.variant_id = ANY(locked) AND r.status = 'active' AND r.expires_at <= p_now) THEN
        -- Nothing expired on these rows (the usual case): the holder's live ones only.
        WITH closed AS (
            UPDATE inventory_reservation AS r SET status = 'released', closed_at = p_now
             WHERE r.holder_id = p_holder AND r.variant_id = ANY(locked) AND r.status = 'active'
         RETURNING r.variant_id, r.quantity
        ), given_back AS (
            UPDATE inventory_stock AS s
               SET reserved = s.reserved - c.quantity
              FROM (SELECT closed.variant_id, sum(closed.quantity) AS quantity FROM closed GROUP BY closed.variant_id) AS c
             WHERE s.variant_id = ANY(locked) AND s.variant_id = c.variant_id
         RETURNING c.quantity
        )
        SELECT coalesce(sum(given_back.quantity), 0) INTO freed FROM given_back;
        RETURN freed;
    END IF;
    WITH closing AS (  -- each kind through its own index
        SELECT r.id FROM inventory_reservation AS r
         WHERE r.variant_id = ANY(locked) AND r.status = 'active' AND r.expires_at <= p_now
        UNION
        SELECT r.id FROM inventory_reservation AS r
         WHERE r.holder_id = p_holder AND r.variant_id = ANY(locked) AND r.status = 'active'
    ), closed AS (
        UPDATE inventory_reservation AS r
           SET status = CASE WHEN r.expires_at <= p_now THEN 'expired' ELSE 'released' END, closed_at = p_now
         WHERE r.id IN (SELECT closing.id FROM closing) AND r.status = 'active'
           AND (r.expires_at <= p_now OR r.holder_id = p_holder)
     RETURNING r.variant_id, r.quantity
    ), given_back AS (
        UPDATE inventory_stock AS s
           SET reserved = s.reserved - c.quantity
          FROM (SELECT closed.variant_id, sum(closed.quantity) AS quantity FROM closed GROUP BY closed.variant_id) AS c
         WHERE s.variant_id = ANY(locked) AND s.variant_id = c.variant_id
     RETURNING c.quantity
    )
    SELECT coalesce(sum(given_back.quantity), 0) INTO freed FROM given_back;
    RETURN freed;
END
$fn$;
"""


def _reverse_sql() -> str:
    """Back to 0004's functions (its CREATE OR REPLACE of all three)."""
    previous = importlib.import_module("inventory.migrations.0004_single_statement_stock_writers")
    return (
        "DROP FUNCTION IF EXISTS inventory_reserve(bigint[], integer[], uuid, timestamptz, timestamptz, boolean);\n"
        + previous.FUNCTIONS
    )


class Migration(migrations.Migration):

    dependencies = [("inventory", "0004_single_statement_stock_writers")]

    operations = [migrations.RunSQL(FUNCTIONS, reverse_sql=_reverse_sql())]
