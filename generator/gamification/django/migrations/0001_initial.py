"""Creates the extension (or stops, saying what a superuser must run), then the read-only
models over its views (no table: they are unmanaged)."""

import gamification.django.fields
import gamification.django.operations
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
    ]

    operations = [
        gamification.django.operations.CreateGamificationExtension(),
        migrations.CreateModel(
            name='Badge',
            fields=[
                ('code', models.TextField(primary_key=True, serialize=False)),
                ('name', models.TextField()),
                ('description', models.TextField(null=True)),
                ('points', models.BigIntegerField()),
                ('category', models.TextField(null=True)),
                ('target', models.BigIntegerField(null=True)),
                ('secret', models.BooleanField()),
                ('next', models.TextField(null=True)),
            ],
            options={
                'db_table': '"gamification"."badges"',
                'ordering': ['code'],
                'abstract': False,
                'managed': False,
            },
        ),
        migrations.CreateModel(
            name='PointsHistory',
            fields=[
                ('id', models.BigIntegerField(primary_key=True, serialize=False)),
                ('user_id', gamification.django.fields.UserKeyField()),
                ('amount', models.BigIntegerField()),
                ('reason', models.TextField(null=True)),
                ('badge', models.TextField(null=True)),
                ('created_at', models.DateTimeField()),
            ],
            options={
                'verbose_name_plural': 'points history',
                'db_table': '"gamification"."points_history"',
                'ordering': ['id'],
                'abstract': False,
                'managed': False,
            },
        ),
        migrations.CreateModel(
            name='Unlockable',
            fields=[
                ('code', models.TextField(primary_key=True, serialize=False)),
                ('name', models.TextField()),
                ('description', models.TextField(null=True)),
                ('points_required', models.BigIntegerField()),
            ],
            options={
                'db_table': '"gamification"."unlockable"',
                'ordering': ['points_required', 'code'],
                'abstract': False,
                'managed': False,
            },
        ),
        migrations.CreateModel(
            name='UserBadge',
            fields=[
                ('key', gamification.django.fields.RowKey(db_column='"code" || \'/\' || "user_id"', editable=False, primary_key=True, serialize=False)),
                ('user_id', gamification.django.fields.UserKeyField()),
                ('code', models.TextField()),
                ('name', models.TextField()),
                ('points', models.BigIntegerField()),
                ('category', models.TextField(null=True)),
                ('awarded_at', models.DateTimeField()),
            ],
            options={
                'verbose_name': 'award',
                'db_table': '"gamification"."user_badges"',
                'ordering': ['awarded_at', 'code'],
                'abstract': False,
                'managed': False,
            },
        ),
        migrations.CreateModel(
            name='UserPoints',
            fields=[
                ('user_id', gamification.django.fields.UserKeyField(primary_key=True, serialize=False)),
                ('points', models.BigIntegerField()),
            ],
            options={
                'verbose_name_plural': 'user points',
                'db_table': '"gamification"."user_points"',
                'abstract': False,
                'managed': False,
            },
        ),
        migrations.CreateModel(
            name='UserProgress',
            fields=[
                ('key', gamification.django.fields.RowKey(db_column='"code" || \'/\' || "user_id"', editable=False, primary_key=True, serialize=False)),
                ('user_id', gamification.django.fields.UserKeyField()),
                ('code', models.TextField()),
                ('progress', models.BigIntegerField()),
                ('target', models.BigIntegerField(null=True)),
            ],
            options={
                'verbose_name_plural': 'user progress',
                'db_table': '"gamification"."user_progress"',
                'abstract': False,
                'managed': False,
            },
        ),
        migrations.CreateModel(
            name='UserUnlockable',
            fields=[
                ('key', gamification.django.fields.RowKey(db_column='"code" || \'/\' || "user_id"', editable=False, primary_key=True, serialize=False)),
                ('user_id', gamification.django.fields.UserKeyField()),
                ('code', models.TextField()),
                ('name', models.TextField()),
                ('unlocked_at', models.DateTimeField(null=True)),
            ],
            options={
                'db_table': '"gamification"."user_unlockables"',
                'abstract': False,
                'managed': False,
            },
        ),
    ]
