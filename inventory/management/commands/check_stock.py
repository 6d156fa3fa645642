from django.core.management.base import BaseCommand, CommandError

from inventory.services import check_stock


class Command(BaseCommand):
    help = (
        "Check every stock row against its ledger (on hand) and its active reservations (reserved), "
        "alert staff about any drift and exit 1 if drift is left. --repair recomputes reserved; "
        "on hand is never repaired (the same check Celery beat runs nightly, without --repair)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--repair",
            action="store_true",
            help="Set reserved of drifting rows to the sum of their active reservations, under their stock locks.",
        )

    def handle(self, *args, **options):
        report = check_stock(repair=options["repair"])
        for line in report.lines():
            self.stdout.write(line)
        if report.unresolved:
            raise CommandError(f"Stock drift left in {len(report.unresolved)} variant(s).", returncode=1)
