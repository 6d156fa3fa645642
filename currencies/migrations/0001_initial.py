"""The exchange-rate models move from the shop app to currencies. Their tables keep
their names (shop_...), so nothing changes in the database: this migration only tells
Django's model state that currencies owns them (shop's 0003 drops them from its state)."""
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("shop", "0002_seed_demo_rates"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
            migrations.CreateModel(
                name='ExchangeRateSet',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('provider', models.CharField(max_length=32)),
                    ('base_currency', models.CharField(default='USD', max_length=3)),
                    ('published_at', models.DateTimeField(blank=True, help_text='When the provider published these rates.', null=True)),
                    ('fetched_at', models.DateTimeField(help_text='When the shop first fetched this set.')),
                    ('confirmed_at', models.DateTimeField(help_text='When a fetch last returned this set.')),
                ],
                options={
                    'db_table': 'shop_exchangerateset',
                    'ordering': ['-fetched_at', '-id'],
                    'indexes': [models.Index(fields=['provider', '-fetched_at'], name='shop_exchan_provide_0c82fe_idx')],
                },
            ),
            migrations.CreateModel(
                name='RateOverrideLog',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('currency', models.CharField(max_length=3)),
                    ('action', models.CharField(choices=[('set', 'override set'), ('cleared', 'override cleared')], max_length=8)),
                    ('old_rate', models.DecimalField(decimal_places=10, max_digits=20)),
                    ('new_rate', models.DecimalField(decimal_places=10, max_digits=20)),
                    ('note', models.CharField(blank=True, max_length=200)),
                    ('changed_at', models.DateTimeField()),
                    ('changed_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'db_table': 'shop_rateoverridelog',
                    'verbose_name': 'exchange rate change',
                    'ordering': ['-changed_at', '-id'],
                },
            ),
            migrations.CreateModel(
                name='ShopperPreference',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('currency', models.CharField(max_length=3)),
                    ('updated_at', models.DateTimeField(auto_now=True)),
                    ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='shop_preference', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'db_table': 'shop_shopperpreference',
                },
            ),
            migrations.CreateModel(
                name='ExchangeRate',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('currency', models.CharField(max_length=3)),
                    ('rate', models.DecimalField(decimal_places=10, max_digits=20)),
                    ('rate_set', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='rates', to='currencies.exchangerateset')),
                ],
                options={
                    'db_table': 'shop_exchangerate',
                    'ordering': ['currency'],
                    'constraints': [models.UniqueConstraint(fields=('rate_set', 'currency'), name='exchange_rate_unique_currency_per_set'), models.CheckConstraint(condition=models.Q(('rate__gt', 0)), name='exchange_rate_positive')],
                },
            ),
            migrations.CreateModel(
                name='CurrencyRate',
                fields=[
                    ('currency', models.CharField(max_length=3, primary_key=True, serialize=False)),
                    ('feed_rate', models.DecimalField(decimal_places=10, max_digits=20)),
                    ('confirmed_at', models.DateTimeField(help_text='When the provider last delivered this rate.')),
                    ('override_rate', models.DecimalField(blank=True, decimal_places=10, max_digits=20, null=True)),
                    ('override_note', models.CharField(blank=True, max_length=200)),
                    ('override_set_at', models.DateTimeField(blank=True, null=True)),
                    ('stale_alerted_at', models.DateTimeField(blank=True, null=True)),
                    ('override_set_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('rate_set', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='currencies.exchangerateset')),
                ],
                options={
                    'db_table': 'shop_currencyrate',
                    'verbose_name': 'exchange rate',
                    'ordering': ['currency'],
                    'constraints': [models.CheckConstraint(condition=models.Q(('feed_rate__gt', 0)), name='currency_rate_feed_positive'), models.CheckConstraint(condition=models.Q(('override_rate__isnull', True), ('override_rate__gt', 0), _connector='OR'), name='currency_rate_override_positive')],
                },
            ),
            ],
        ),
    ]
