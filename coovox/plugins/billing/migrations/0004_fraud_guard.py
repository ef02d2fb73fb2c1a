from tortoise import migrations
from tortoise.migrations import operations as ops
from coovox.storage.money_field import MoneyField
from tortoise import fields
from tortoise.indexes import Index



class AddCounter(ops.AddField):
    """A counter of the fraud guard on billing_account: NOT NULL with a database DEFAULT 0,
    so existing accounts get 0 and the raw INSERTs that do not name it still work."""

    def __init__(self, name, field, sql_type):
        super().__init__(model_name='Account', name=name, field=field)
        self.sql_type = sql_type

    async def database_forward(self, app_label, old_state, new_state, state_editor=None):
        if not state_editor:
            return
        await state_editor.client.execute_script(
            f'ALTER TABLE "billing_account" ADD COLUMN "{self.name}" {self.sql_type} '
            'NOT NULL DEFAULT 0')


class Migration(migrations.Migration):
    dependencies = [('billing', '0003_rate_decks')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DeckStage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('import_id', fields.BigIntField()),
                ('line', fields.IntField()),
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
            options={'table': 'billing_deck_stage', 'app': 'billing', 'indexes': [Index(fields=['import_id', 'prefix', 'length', 'start_time', 'end_time', 'line'], name='billing_deck_stage_key')], 'pk_attr': 'id', 'table_description': 'Rows of a deck file being imported, staged in chunks (one ``import_id`` per'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='FraudActive',
            fields=[
                ('call_id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('extension', fields.CharField(db_index=True, max_length=32)),
                ('at', fields.BigIntField()),
            ],
            options={'table': 'billing_fraud_active', 'app': 'billing', 'pk_attr': 'call_id', 'table_description': 'A call admitted under a limit of simultaneous calls (deleted when it ends).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='FraudAttempt',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('extension', fields.CharField(max_length=32)),
                ('at', fields.BigIntField()),
            ],
            options={'table': 'billing_fraud_attempt', 'app': 'billing', 'indexes': [Index(fields=['extension', 'at'], name='billing_fraud_attempt_ext')], 'pk_attr': 'id', 'table_description': "A refused attempt to a blocked destination (kept for the trip's minutes)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='FraudTrip',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('extension', fields.CharField(db_index=True, max_length=32)),
                ('kind', fields.CharField(max_length=32)),
                ('period', fields.BigIntField()),
                ('reason', fields.CharField(default='', max_length=255)),
                ('action', fields.CharField(default='lock', max_length=16)),
                ('cleared_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('cleared_by', fields.CharField(default='', max_length=64)),
            ],
            options={'table': 'billing_fraud_trip', 'app': 'billing', 'unique_together': (('extension', 'kind', 'period'),), 'pk_attr': 'id', 'table_description': 'A trip of the fraud guard: once per extension, kind and window (``period``).'},
            bases=['Model'],
        ),
        AddCounter('calls_hour', fields.IntField(default=0), 'INT'),
        AddCounter('calls_hour_key', fields.BigIntField(default=0), 'BIGINT'),
        AddCounter('guard_until', fields.BigIntField(default=0), 'BIGINT'),
        AddCounter('spend_day', fields.BigIntField(default=0), 'BIGINT'),
        AddCounter('spend_day_key', fields.BigIntField(default=0), 'BIGINT'),
        AddCounter('spend_hour', fields.BigIntField(default=0), 'BIGINT'),
        AddCounter('spend_hour_key', fields.BigIntField(default=0), 'BIGINT'),
        ops.AddIndex(
            model_name='DeckRate',
            index=Index(fields=['version_id', 'prefix', 'length', 'start_time', 'end_time'], name='billing_deck_rate_key'),
        ),
    ]
