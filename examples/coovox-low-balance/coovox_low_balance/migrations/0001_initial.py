from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Delivery',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('extension', fields.CharField(db_index=True, max_length=32)),
                ('balance', fields.CharField(max_length=32)),
                ('threshold', fields.CharField(max_length=32)),
                ('trigger', fields.CharField(max_length=32)),
                ('url', fields.CharField(max_length=500)),
                ('status', fields.CharField(default='pending', max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('error', fields.CharField(default='', max_length=500)),
            ],
            options={'table': 'low_balance_delivery', 'app': 'low_balance', 'pk_attr': 'id', 'table_description': 'One webhook about one extension whose balance fell below its threshold.'},
            bases=['Model'],
        ),
    ]
