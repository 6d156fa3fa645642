"""The lock order: the one place it is written. Every function that takes a lock says
which of these it takes and links here.

A transaction that needs several of these locks takes them in this order, top to bottom,
and never the other way round; within one kind it takes rows in the order given. Two
transactions therefore never wait for each other in a circle, so the shop has no
deadlocks by construction (invariant 4 of docs/architecture.md).

1. The payment advisory lock of a cart (payments.services: a PostgreSQL advisory lock keyed
   by the cart's id). It serialises the Stripe calls of one cart across processes. It is
   only ever polled for (pg_try_advisory_lock), never waited on, so a holder that then
   waits for a row lock below cannot deadlock with it; the writers that end a checkout
   (checkout.services cancel and abandon) take it to the end of their transaction.
2. The webhook event row (payments.webhooks.process_event), one event at a time.
3. Cart rows (cart.services.lock_cart; lock_carts for several, by primary key).
4. Payment rows (payments.records.lock_payment_for_intent; payments.refunds).
4a. The discount code row (discounts.services: reserve_use, commit_use), then that
   checkout's discount use row. Before the stock rows, so that nothing but the stock
   statements runs while a hot stock row is locked.
5. Stock rows, by ascending variant id, all of a transaction's rows in one statement
   (inventory.locks.lock_stocks and lock_reserved_stocks). Reserve, extend and release
   (and the sweeper) are that one statement: a SQL function of inventory's migration
   0004 locks the rows, releases their expired reservations, checks, moves `reserved` and
   writes the reservation rows, and it is the last statement of its transaction, so a
   hot SKU's row is locked for one statement and a COMMIT (checkout.services and the
   payment request, checkout.payment, write the cart, and discounts the code's use,
   before it). Where that transaction is the connection's outermost one with no
   savepoint (checkout start and cancel, the abandon job: `ends_transaction=True`),
   the COMMIT goes in the same query as the statement (inventory.locks.run_locked):
   the row is unlocked as soon as the server has run both, with no round trip to the
   client in between; a failed statement makes the server skip that COMMIT, and a short
   reserve is rolled back at once. A sale (complete_checkout) commits the stock before
   it makes the order, so the order-number row (7) is never held while queueing for a
   hot stock row.
6. Reservation rows: written only while their variants' stock rows are locked (5), never
   locked on their own.
7. The order-number sequence row of the year (orders.services.next_order_number).
8. Order rows (orders.services: record_refunded, flag_order).

Exchange-rate rows (currencies.services) are locked alone, all of them at once in
currency-code order, by transactions that take none of the locks above.

No Stripe call runs while any row lock is held: a checkout talks to Stripe under the
advisory lock only, in between short transactions that take the row locks.
"""

LOCK_ORDER = (
    "payment advisory lock (per cart)",
    "webhook event row",
    "cart rows, by primary key",
    "payment rows",
    "discount code row, then its use rows",
    "stock rows, by ascending variant id",
    "reservation rows",
    "order-number sequence row",
    "order rows",
)
