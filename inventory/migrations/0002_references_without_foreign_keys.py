"""Databases made before inventory held reservations by an opaque holder id: their
inventory_reservation has `cart_id` with a foreign key to cart_cart and both tables have
`order_id` with foreign keys to orders_order. Drop those foreign keys and rename cart_id
to holder_id, keeping every row; the data stays exactly as it was (the same UUIDs and
order ids). On a database made by the current 0001 there is nothing to do. Old code
reads cart_id: stop it before migrating (docs/operations.md, Upgrading)."""
from django.db import migrations

CONVERT_OLD_SCHEMA = """
DO $$
DECLARE fk record;
DECLARE idx record;
BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.columns
               WHERE table_schema = current_schema() AND table_name = 'inventory_reservation'
                 AND column_name = 'cart_id') THEN
        FOR fk IN SELECT conrelid::regclass AS tab, conname FROM pg_constraint
                   WHERE contype = 'f'
                     AND conrelid IN ('inventory_reservation'::regclass, 'inventory_stockmovement'::regclass)
                     AND confrelid NOT IN (SELECT oid FROM pg_class WHERE relname IN ('catalog_variant', 'auth_user'))
        LOOP
            EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', fk.tab, fk.conname);
        END LOOP;
        ALTER TABLE inventory_reservation RENAME COLUMN cart_id TO holder_id;
        ALTER INDEX IF EXISTS inventory_r_cart_id_46c75f_idx RENAME TO reservation_holder_status;
        -- The foreign key's own index; reservation_holder_status (holder_id, status) serves.
        FOR idx IN SELECT indexname FROM pg_indexes
                    WHERE schemaname = current_schema() AND tablename = 'inventory_reservation'
                      AND indexname LIKE 'inventory_reservation_cart_id_%'
        LOOP
            EXECUTE format('DROP INDEX %I', idx.indexname);
        END LOOP;
    END IF;
END $$;
"""


class Migration(migrations.Migration):

    dependencies = [("inventory", "0001_initial")]

    operations = [migrations.RunSQL(CONVERT_OLD_SCHEMA, reverse_sql=migrations.RunSQL.noop)]
