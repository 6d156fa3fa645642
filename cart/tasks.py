from celery import shared_task

from cart import services


@shared_task(name="cart.tasks.abandon_idle_carts")
def abandon_idle_carts() -> int:
    return services.abandon_idle_carts()
