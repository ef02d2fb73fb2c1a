"""Outbound caller IDs (manual 003 §4.1, §4.2, §4.3.2): two per extension, one per trunk
with its preference, and per dial rule the caller ID to use and the call method."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('calls', '0002_keyword_index')]

    initial = False

    operations = [
        ops.AddField(model_name='Extension', name='caller_id1',
                     field=fields.CharField(default='', max_length=32)),
        ops.AddField(model_name='Extension', name='caller_id2',
                     field=fields.CharField(default='', max_length=32)),
        ops.AddField(model_name='Trunk', name='caller_id',
                     field=fields.CharField(default='', max_length=32)),
        ops.AddField(model_name='Trunk', name='prefer',
                     field=fields.CharField(default='extension', max_length=16)),
        ops.AddField(model_name='DialRule', name='caller_id',
                     field=fields.IntField(default=1)),
        ops.AddField(model_name='DialRule', name='call_method',
                     field=fields.CharField(default='sequential', max_length=16)),
    ]
