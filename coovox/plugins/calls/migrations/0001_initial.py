from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Call',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('node', fields.CharField(default='', max_length=64)),
                ('started_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('answered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('ended_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('extension', fields.CharField(db_index=True, max_length=32)),
                ('extension_name', fields.CharField(default='', max_length=128)),
                ('dialed', fields.CharField(max_length=64)),
                ('sent', fields.CharField(default='', max_length=64)),
                ('rule', fields.CharField(default='', max_length=64)),
                ('trunk', fields.CharField(default='', max_length=64)),
                ('pin', fields.CharField(null=True, max_length=32)),
                ('status', fields.CharField(default='active', db_index=True, max_length=16)),
                ('reason', fields.CharField(default='', max_length=64)),
                ('cause', fields.IntField(null=True)),
                ('duration', fields.FloatField(null=True)),
                ('talk_time', fields.FloatField(null=True)),
                ('cap', fields.FloatField(null=True)),
                ('billed_talk_time', fields.FloatField(null=True)),
                ('decisions', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('caller_channel', fields.CharField(default='', max_length=64)),
                ('out_channel', fields.CharField(default='', max_length=64)),
                ('bridge_id', fields.CharField(default='', max_length=64)),
            ],
            options={'table': 'calls_call', 'app': 'calls', 'pk_attr': 'id', 'table_description': 'One call attempt: written when the call starts, finished exactly once.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DialPermission',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=64)),
                ('dial_rules', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'calls_dial_permission', 'app': 'calls', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DialRule',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=64)),
                ('prefix', fields.CharField(default='', max_length=32)),
                ('pattern', fields.CharField(max_length=64)),
                ('prepend', fields.CharField(default='', max_length=32)),
                ('trunks', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('time_limit', fields.IntField(null=True)),
                ('pin_set', fields.CharField(null=True, max_length=64)),
                ('condition', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'calls_dial_rule', 'app': 'calls', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Extension',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('number', fields.CharField(unique=True, max_length=32)),
                ('name', fields.CharField(default='', max_length=128)),
                ('enabled', fields.BooleanField(default=True)),
                ('dial_permission', fields.CharField(default='DialPlan1', max_length=64)),
            ],
            options={'table': 'calls_extension', 'app': 'calls', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PinSet',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=64)),
                ('pins', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'calls_pin_set', 'app': 'calls', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Trunk',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=64)),
                ('dial_string', fields.CharField(max_length=255)),
                ('enabled', fields.BooleanField(default=True)),
                ('max_calls', fields.IntField(null=True)),
            ],
            options={'table': 'calls_trunk', 'app': 'calls', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
