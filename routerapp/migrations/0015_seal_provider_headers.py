"""Provider header values were stored in clear and shown by the admin, exports and /api/providers:
encrypt the ones already stored, as Provider.save() now does for every new value."""

from django.db import migrations


def seal(apps, schema_editor):
    from routerapp.models import sealed_headers

    Provider = apps.get_model("routerapp", "Provider")
    for provider in Provider.objects.exclude(extra_headers={}):
        sealed = sealed_headers(provider.extra_headers or {})
        if sealed != provider.extra_headers:
            Provider.objects.filter(pk=provider.pk).update(extra_headers=sealed)


class Migration(migrations.Migration):
    dependencies = [("routerapp", "0014_key_budget_period_tpm")]

    operations = [migrations.RunPython(seal, migrations.RunPython.noop)]
