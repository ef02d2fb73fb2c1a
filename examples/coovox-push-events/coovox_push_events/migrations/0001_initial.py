from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='PushFailure',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('event', fields.CharField(max_length=32)),
                ('call_id', fields.CharField(default='', max_length=64)),
                ('url', fields.CharField(max_length=500)),
                ('attempts', fields.IntField()),
                ('error', fields.CharField(max_length=500)),
            ],
            options={'table': 'push_events_failure', 'app': 'push_events', 'pk_attr': 'id', 'table_description': 'An event that could not be delivered after all tries.'},
            bases=['Model'],
        ),
    ]
