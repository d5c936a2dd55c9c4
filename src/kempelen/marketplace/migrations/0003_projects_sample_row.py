from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('marketplace', '0002_batches_and_projects'),
    ]

    operations = [
        migrations.AddField(
            model_name='hitlayout',
            name='sample_row',
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
