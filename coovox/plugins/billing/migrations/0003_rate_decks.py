from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from coovox.storage.money_field import MoneyField
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('billing', '0002_stats_index')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DeckRate',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('version_id', fields.IntField(db_index=True)),
                ('prefix', fields.CharField(default='', max_length=32)),
                ('length', fields.IntField(default=0)),
                ('initial_cost', MoneyField(default=0)),
                ('initial_time', fields.IntField(default=0)),
                ('rate', MoneyField(default=0)),
                ('unit', fields.IntField(default=60)),
                ('start_time', fields.CharField(default='00:00:00', max_length=8)),
                ('end_time', fields.CharField(default='00:00:00', max_length=8)),
                ('remark', fields.CharField(default='', max_length=255)),
            ],
            options={'table': 'billing_deck_rate', 'app': 'billing', 'pk_attr': 'id', 'table_description': 'One rate of a deck version (the fields of a single rate, money in 1/10000).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DeckVersion',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('deck_id', fields.IntField(db_index=True)),
                ('effective_from', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('rows', fields.IntField(default=0)),
                ('by', fields.CharField(default='', max_length=64)),
                ('source', fields.CharField(default='', max_length=255)),
            ],
            options={'table': 'billing_deck_version', 'app': 'billing', 'pk_attr': 'id', 'table_description': 'One imported price list of a deck, in effect from ``effective_from`` (UTC).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RateDeck',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=64)),
                ('remark', fields.CharField(default='', max_length=255)),
                ('active', fields.BooleanField(default=True)),
                ('all_extensions', fields.BooleanField(default=False)),
                ('extensions', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'billing_deck', 'app': 'billing', 'pk_attr': 'id', 'table_description': "A named set of rates (a carrier's price list) assigned to extensions as a whole."},
            bases=['Model'],
        ),
    ]
