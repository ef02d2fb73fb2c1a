from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='HookNote',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('text', fields.CharField(max_length=100)),
            ],
            options={'table': 'allhooks_note', 'app': 'allhooks', 'pk_attr': 'id', 'table_description': 'A note the test plugin writes, proving its table exists.'},
            bases=['Model'],
        ),
    ]
