from django.db import migrations, models

HEAD_BYTES = 256  # networks.base.HEAD_BYTES when this was written


def store_heads(apps, schema_editor):
    """Read the first bytes of every stored file once, so that checks never open it again."""
    media = apps.get_model("planning", "Media")
    alias = schema_editor.connection.alias  # the database being migrated (not always "default")
    for item in media.objects.using(alias).filter(head=b"").iterator():
        try:
            with item.file.storage.open(item.file.name, "rb") as handle:
                item.head = handle.read(HEAD_BYTES)
        except OSError:  # a file gone from storage: its uploads will fail and say so
            continue
        item.save(update_fields=["head"], using=alias)


class Migration(migrations.Migration):
    dependencies = [
        ("planning", "0002_slots_reviews_client_links_feed"),
    ]

    operations = [
        migrations.AddField(
            model_name="media",
            name="head",
            field=models.BinaryField(blank=True, default=b"", max_length=256),
        ),
        migrations.RunPython(store_heads, migrations.RunPython.noop),
    ]
