"""Reserve, extend and release as one statement each (issue 13).

A hot SKU sells at most 1 / (time its stock row stays locked) reservations per second,
so the checkout's writers of stock send one statement while the rows are locked and then
COMMIT. Each function below is that statement: it locks the stock rows in ascending
variant id (invariant 4, shop/locks.py), releases the expired reservations of those rows
under the lock (invariant 2), checks and writes `reserved` and the reservation rows
(invariant 1). Statements inside a PL/pgSQL function take a fresh snapshot each (READ
COMMITTED), so everything after the lock sees what the transactions it waited for wrote.
on_hand is never touched here (the ledger, invariant 3, is inventory.services' commit and
adjust). inventory.services calls them through inventory.locks.
"""
from django.db import migrations

FUNCTIONS = r"""
-- Reserve `p_quantities` of `p_variants` (ascending, distinct) for `p_holder`, all or none.
-- The holder's live reservations on these variants are replaced. Returns one row per
-- reservation written (reservation_id set, available NULL), or, when any item is short,
-- one row per short item (reservation_id NULL, quantity = requested, available) after
-- undoing everything it did, locks included: a refused reserve holds no stock row.
--
-- Two statements: the lock, then one that closes the expired and the holder's own
-- reservations of those rows (each found through its own index: an expired one by
-- variant and expiry, the holder's by holder and variant), and, if every item is
-- available, moves `reserved` and inserts the reservations. The functions plan once per
-- session (plan_cache_mode), not on every call.
CREATE OR REPLACE FUNCTION inventory_reserve(
    p_variants bigint[], p_quantities integer[], p_holder uuid, p_expires timestamptz, p_now timestamptz
) RETURNS TABLE (reservation_id bigint, variant_id bigint, quantity integer, available integer)
LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan AS $fn$
#variable_conflict use_column
DECLARE
    ids bigint[];
    out_variants bigint[];
    counts integer[];
    extras integer[];
BEGIN
    BEGIN  -- a subtransaction: a shortage rolls it back, and the locks go with it
        PERFORM 1 FROM inventory_stock AS s WHERE s.variant_id = ANY(p_variants) ORDER BY s.variant_id FOR UPDATE;
        WITH item AS (
            SELECT d.variant_id, d.quantity FROM unnest(p_variants, p_quantities) AS d(variant_id, quantity)
        ), closing AS (
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
        ), freed AS (
            SELECT closed.variant_id, sum(closed.quantity)::integer AS quantity FROM closed GROUP BY closed.variant_id
        ), stock AS (  -- NULL available: no stock row, nothing on hand
            SELECT item.variant_id, item.quantity, s.on_hand - s.reserved + coalesce(freed.quantity, 0) AS available,
                   coalesce(freed.quantity, 0) AS freed
              FROM item LEFT JOIN inventory_stock AS s ON s.variant_id = item.variant_id
              LEFT JOIN freed ON freed.variant_id = item.variant_id
        ), short AS (
            SELECT stock.variant_id, stock.quantity, greatest(coalesce(stock.available, 0), 0)::integer AS available
              FROM stock WHERE stock.available IS NULL OR stock.available < stock.quantity
        ), added AS (
            UPDATE inventory_stock AS s
               SET reserved = s.reserved - stock.freed + stock.quantity, updated_at = p_now
              FROM stock
             WHERE s.variant_id = stock.variant_id AND NOT EXISTS (SELECT 1 FROM short)
         RETURNING s.variant_id, stock.quantity
        ), inserted AS (
            INSERT INTO inventory_reservation AS r (holder_id, variant_id, quantity, status, expires_at, created_at)
            SELECT p_holder, added.variant_id, added.quantity, 'active', p_expires, p_now FROM added ORDER BY added.variant_id
            RETURNING r.id, r.variant_id, r.quantity
        )
        SELECT array_agg(o.id ORDER BY o.variant_id), array_agg(o.variant_id ORDER BY o.variant_id),
               array_agg(o.quantity ORDER BY o.variant_id), array_agg(o.extra ORDER BY o.variant_id)
          INTO ids, out_variants, counts, extras
          FROM (SELECT inserted.id, inserted.variant_id, inserted.quantity::integer AS quantity, NULL::integer AS extra FROM inserted
                UNION ALL
                SELECT NULL, short.variant_id, short.quantity, short.available FROM short) AS o;
        IF ids IS NULL OR array_position(ids, NULL) IS NOT NULL THEN
            RAISE SQLSTATE 'IS001';  -- short: undo the closing of reservations above
        END IF;
    EXCEPTION WHEN SQLSTATE 'IS001' THEN
        NULL;  -- undone, locks released; the short items are still in the variables
    END;
    RETURN QUERY SELECT t.id, t.variant_id, t.quantity, t.extra
                   FROM unnest(ids, out_variants, counts, extras) AS t(id, variant_id, quantity, extra)
                  WHERE (t.id IS NULL) = (array_position(ids, NULL) IS NOT NULL);
END
$fn$;

-- Move the expiry of `p_holder`'s reservations (on `p_variants`, ascending: the ones the
-- caller saw active) to `p_expires`, never earlier, all or none. -1 when not all of them
-- are still active and live at `p_now` (NULL: the clock after the lock wait), and then
-- nothing changes; else how many moved.
CREATE OR REPLACE FUNCTION inventory_extend(
    p_variants bigint[], p_holder uuid, p_expires timestamptz, p_now timestamptz
) RETURNS integer
LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan AS $fn$
#variable_conflict use_column
DECLARE
    result integer;
BEGIN
    PERFORM 1 FROM inventory_stock AS s WHERE s.variant_id = ANY(p_variants) ORDER BY s.variant_id FOR UPDATE;
    p_now := coalesce(p_now, clock_timestamp());
    WITH live AS (
        SELECT count(*) > 0 AND count(*) >= cardinality(p_variants) AND min(r.expires_at) > p_now AS ok
          FROM inventory_reservation AS r WHERE r.holder_id = p_holder AND r.status = 'active'
    ), moved AS (
        UPDATE inventory_reservation AS r SET expires_at = p_expires
         WHERE r.holder_id = p_holder AND r.status = 'active' AND r.expires_at < p_expires AND (SELECT live.ok FROM live)
     RETURNING 1
    )
    SELECT CASE WHEN (SELECT live.ok FROM live) THEN (SELECT count(*) FROM moved)::integer ELSE -1 END INTO result;
    RETURN result;
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
    WITH closing AS (
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
         WHERE s.variant_id = c.variant_id
     RETURNING c.quantity
    )
    SELECT coalesce(sum(given_back.quantity), 0) INTO freed FROM given_back;
    RETURN freed;
END
$fn$;
"""

DROP = """
DROP FUNCTION IF EXISTS inventory_reserve(bigint[], integer[], uuid, timestamptz, timestamptz);
DROP FUNCTION IF EXISTS inventory_extend(bigint[], uuid, timestamptz, timestamptz);
DROP FUNCTION IF EXISTS inventory_release(bigint[], uuid, timestamptz);
"""


class Migration(migrations.Migration):

    dependencies = [("inventory", "0003_cancel_reason")]

    operations = [migrations.RunSQL(FUNCTIONS, reverse_sql=DROP)]
