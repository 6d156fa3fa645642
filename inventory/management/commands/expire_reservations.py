from django.core.management.base import BaseCommand

from inventory.services import expire_reservations


class Command(BaseCommand):
    help = "Release every reservation past its expiry (the same sweep Celery beat runs)."

    def handle(self, *args, **options):
        released = expire_reservations()
        self.stdout.write(f"Released {released} reserved unit(s).")
