from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from coordination.csvio import Progress
from referrals.identity import identity_rotate
from referrals.models import CaseIdentity


class Command(BaseCommand):
    help = (
        "Re-encrypt every identity record with the first key in IDENTITY_KEYS. Rotate by putting a new key first "
        "(IDENTITY_KEYS=new,old), running this, then removing the old key."
    )

    def handle(self, *args, **options):
        keys = len(settings.IDENTITY_KEYS)
        total = CaseIdentity.objects.count()
        try:
            done = identity_rotate(progress=Progress(max(total, 1), label="identities", stream=self.stderr._out))
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(self.style.SUCCESS(
            f"Re-encrypted {done} identity records with the first of {keys} key(s)."
            + (" The other keys can now be removed from IDENTITY_KEYS." if keys > 1 else "")
        ))
