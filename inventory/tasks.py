from celery import shared_task

from inventory import services


@shared_task(name="inventory.tasks.expire_reservations")
def expire_reservations() -> int:
    return services.expire_reservations()
