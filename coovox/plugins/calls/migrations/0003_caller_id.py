"""Outbound caller IDs (manual 003 §4.1, §4.2, §4.3.2): two per extension, one per trunk
with its preference, and per dial rule the caller ID to use and the call method.  The
columns have database defaults: existing rows get them (SQLite refuses a NOT NULL column
without one on a table with rows)."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('calls', '0002_keyword_index')]

    initial = False

    operations = [
        ops.AddField(model_name='Extension', name='caller_id1',
                     field=fields.CharField(default='', db_default='', max_length=32)),
        ops.AddField(model_name='Extension', name='caller_id2',
                     field=fields.CharField(default='', db_default='', max_length=32)),
        ops.AddField(model_name='Trunk', name='caller_id',
                     field=fields.CharField(default='', db_default='', max_length=32)),
        ops.AddField(model_name='Trunk', name='prefer',
                     field=fields.CharField(default='extension', db_default='extension', max_length=16)),
        ops.AddField(model_name='DialRule', name='caller_id',
                     field=fields.IntField(default=1, db_default=1)),
        ops.AddField(model_name='DialRule', name='call_method',
                     field=fields.CharField(default='sequential', db_default='sequential', max_length=16)),
    ]
