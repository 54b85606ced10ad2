"""A read-only model over the leaderboards' definitions (extension 0.3.0)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('gamification_pg', '0002_userlevel_userpointsbytype'),
    ]

    operations = [
        migrations.CreateModel(
            name='Leaderboard',
            fields=[
                ('code', models.TextField(primary_key=True, serialize=False)),
                ('name', models.TextField()),
                ('description', models.TextField(null=True)),
                ('point_type', models.TextField(null=True)),
                ('period', models.TextField()),
                ('time_zone', models.TextField(null=True)),
                ('week_start', models.TextField(null=True)),
                ('ties', models.TextField()),
                ('ranks_by', models.TextField()),
                ('category', models.TextField(null=True)),
            ],
            options={
                'db_table': '"gamification"."leaderboards"',
                'ordering': ['code'],
                'abstract': False,
                'managed': False,
            },
        ),
    ]
