from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from coovox.storage.money_field import MoneyField
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Account',
            fields=[
                ('extension', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=32)),
                ('enabled', fields.BooleanField(default=False)),
                ('balance', MoneyField(default=0)),
                ('credit', MoneyField(default=0)),
                ('payment_type', fields.CharField(default='prepaid', max_length=16)),
                ('status', fields.CharField(default='unlocked', max_length=16)),
                ('total_recharges', MoneyField(default=0)),
            ],
            options={'table': 'billing_account', 'app': 'billing', 'pk_attr': 'extension', 'table_description': 'The billing account of one extension, keyed by its number.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BillingCall',
            fields=[
                ('call_id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('extension', fields.CharField(db_index=True, max_length=32)),
                ('name', fields.CharField(default='', max_length=128)),
                ('rate', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('charged', MoneyField(default=0)),
                ('next_seq', fields.IntField(default=0)),
                ('cost', MoneyField(null=True)),
                ('settled', fields.BooleanField(default=False)),
                ('answered', fields.BooleanField(default=False)),
                ('talk_time', fields.FloatField(default=0)),
                ('billed_time', fields.FloatField(default=0)),
                ('local_date', fields.CharField(default='', db_index=True, max_length=10)),
                ('warned', fields.BooleanField(default=False)),
            ],
            options={'table': 'billing_call', 'app': 'billing', 'pk_attr': 'call_id', 'table_description': 'Billing state of one call: the rate copy, what was charged live, the final cost.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Ledger',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('call_id', fields.CharField(max_length=64)),
                ('seq', fields.IntField()),
                ('extension', fields.CharField(db_index=True, max_length=32)),
                ('amount', MoneyField()),
                ('kind', fields.CharField(default='charge', max_length=16)),
            ],
            options={'table': 'billing_ledger', 'app': 'billing', 'unique_together': (('call_id', 'seq'),), 'pk_attr': 'id', 'table_description': 'One balance movement of a call: a live charge or a settlement (positive = debit).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Rate',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('active', fields.BooleanField(default=True)),
                ('remark', fields.CharField(default='', max_length=255)),
                ('prefix', fields.CharField(default='', max_length=32)),
                ('length', fields.IntField(default=0)),
                ('initial_cost', MoneyField(default=0)),
                ('initial_time', fields.IntField(default=0)),
                ('rate', MoneyField(default=0)),
                ('unit', fields.IntField(default=60)),
                ('start_time', fields.CharField(default='00:00:00', max_length=8)),
                ('end_time', fields.CharField(default='00:00:00', max_length=8)),
                ('all_extensions', fields.BooleanField(default=False)),
                ('extensions', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'billing_rate', 'app': 'billing', 'pk_attr': 'id', 'table_description': 'A billing rate (billing.md Rates), money in 1/10000 units.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Recharge',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('extension', fields.CharField(db_index=True, max_length=32)),
                ('name', fields.CharField(default='', max_length=128)),
                ('pre_balance', MoneyField()),
                ('amount', MoneyField()),
                ('post_balance', MoneyField()),
                ('by', fields.CharField(default='', max_length=64)),
                ('correction', fields.BooleanField(default=False)),
                ('reason', fields.CharField(default='', max_length=255)),
            ],
            options={'table': 'billing_recharge', 'app': 'billing', 'pk_attr': 'id', 'table_description': 'One recharge (or correction) of one extension, with balances before and after.'},
            bases=['Model'],
        ),
    ]
