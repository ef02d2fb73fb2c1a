from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='PluginState',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=100)),
                ('enabled', fields.BooleanField(default=True)),
            ],
            options={'table': 'core_plugin_state', 'app': 'core', 'pk_attr': 'name', 'table_description': "An administrator's choice to enable or disable a plugin."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Setting',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('namespace', fields.CharField(max_length=64)),
                ('key', fields.CharField(max_length=64)),
                ('value', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'core_setting', 'app': 'core', 'unique_together': (('namespace', 'key'),), 'pk_attr': 'id', 'table_description': 'A JSON setting of a plugin (``namespace``) under ``key``.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('username', fields.CharField(unique=True, max_length=64)),
                ('password_hash', fields.CharField(max_length=255)),
                ('role', fields.CharField(max_length=32)),
                ('language', fields.CharField(default='', max_length=8)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'core_user', 'app': 'core', 'pk_attr': 'id', 'table_description': 'A person who signs in to the web UI or owns API tokens.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ApiToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('core.User', source_field='user_id', db_constraint=True, to_field='id', related_name='tokens', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(default='', max_length=64)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('prefix', fields.CharField(max_length=12)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked', fields.BooleanField(default=False)),
            ],
            options={'table': 'core_api_token', 'app': 'core', 'pk_attr': 'id', 'table_description': 'A bearer token for the JSON API, stored as its SHA-256 only.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebLog',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('ip', fields.CharField(default='', max_length=64)),
                ('username', fields.CharField(default='', max_length=64)),
                ('role', fields.CharField(default='', max_length=32)),
                ('action', fields.CharField(max_length=255)),
                ('result', fields.CharField(default='', max_length=255)),
            ],
            options={'table': 'core_web_log', 'app': 'core', 'pk_attr': 'id', 'table_description': 'One state-changing web or API request (manual §7.9.1).'},
            bases=['Model'],
        ),
    ]
