from django.core.management.base import BaseCommand, CommandError

from currencies import services as rate_services
from currencies.providers import RateFeedError, get_provider


class Command(BaseCommand):
    help = (
        "Fetch exchange rates from EXCHANGE_RATES_PROVIDER (or --provider) and store them: the "
        "same refresh Celery beat runs. On failure nothing changes and the command exits 1."
    )

    def add_arguments(self, parser):
        parser.add_argument("--provider", help="ecb, openexchangerates or fixed (default: the setting)")

    def handle(self, *args, **options):
        try:
            result = rate_services.refresh_rates(provider=get_provider(options.get("provider")))
        except RateFeedError as exc:
            rate_services.alert_stale_rates()
            raise CommandError(f"Rates not updated; the last rates stay in force. {exc}") from None
        rate_services.alert_stale_rates()
        verb = "Stored a new set from" if result.created else "Confirmed the last set from"
        self.stdout.write(f"{verb} {result.rate_set.provider}: {', '.join(result.updated)}.")
        if result.missing:
            self.stdout.write(
                self.style.WARNING(f"{result.rate_set.provider} has no rate for {', '.join(result.missing)}; "
                                   "their last rates stay in force.")
            )
