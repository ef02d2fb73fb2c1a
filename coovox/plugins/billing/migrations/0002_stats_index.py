from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('billing', '0001_initial')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='BillingCall',
            index=Index(fields=['answered', 'settled', 'local_date', 'talk_time', 'cost'], name='billing_call_stats'),
        ),
        ops.AddIndex(
            model_name='BillingCall',
            index=Index(fields=['extension', 'answered', 'settled', 'local_date', 'talk_time', 'cost'], name='billing_call_stats_ext'),
        ),
    ]
