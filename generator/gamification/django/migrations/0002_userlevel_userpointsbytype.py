"""Read-only models over the views of point types and levels (extension 0.3.0)."""

import gamification.django.fields
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('gamification_pg', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='UserLevel',
            fields=[
                ('key', gamification.django.fields.RowKey(db_column='"point_type" || \'/\' || "user_id"', editable=False, primary_key=True, serialize=False)),
                ('user_id', gamification.django.fields.UserKeyField()),
                ('point_type', models.TextField()),
                ('level', models.IntegerField()),
                ('name', models.TextField(null=True)),
                ('points', models.BigIntegerField()),
                ('next_level', models.IntegerField(null=True)),
                ('next_name', models.TextField(null=True)),
                ('points_to_next', models.BigIntegerField(null=True)),
                ('progress', models.DecimalField(decimal_places=4, max_digits=5)),
            ],
            options={
                'db_table': '"gamification"."user_levels"',
                'ordering': ['point_type'],
                'abstract': False,
                'managed': False,
            },
        ),
        migrations.CreateModel(
            name='UserPointsByType',
            fields=[
                ('key', gamification.django.fields.RowKey(db_column='"point_type" || \'/\' || "user_id"', editable=False, primary_key=True, serialize=False)),
                ('user_id', gamification.django.fields.UserKeyField()),
                ('point_type', models.TextField()),
                ('points', models.BigIntegerField()),
            ],
            options={
                'verbose_name_plural': 'user points by type',
                'db_table': '"gamification"."user_points_by_type"',
                'ordering': ['point_type'],
                'abstract': False,
                'managed': False,
            },
        ),
    ]
