from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('core', '0002_web_session')]

    initial = False

    operations = [
        ops.AddField(
            model_name='WebLog',
            name='details',
            field=fields.TextField(default='', db_default=''),
        ),
    ]
