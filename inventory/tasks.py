from celery import shared_task

from inventory import services


@shared_task(name="inventory.tasks.expire_reservations")
def expire_reservations() -> int:
    return services.expire_reservations()


@shared_task(name="inventory.tasks.check_stock")
def check_stock() -> int:
    """The nightly drift check: alerts staff, repairs nothing (a person runs
    `manage.py check_stock --repair` after reading the alert). Returns the number of
    drifting variants."""
    return len(services.check_stock().drifts)
