"""`python manage.py prune_originals`: delete stored originals whose token expired without feedback."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from feedback.retention import default_cutoff, prune_originals


class Command(BaseCommand):
    help = (
        "Delete stored originals that no feedback refers to and whose feedback token has expired "
        "(FEEDBACK_TOKEN_MAX_AGE plus a day). Originals with feedback are never touched. Run it "
        "daily (the prune Cloud Run Job)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted; delete nothing.")
        parser.add_argument("--before", default=None,
                            help="Only days before this date, YYYY-MM-DD (default and latest: when tokens expire).")

    def handle(self, *args, **options):
        cutoff = default_cutoff()
        if options["before"]:
            try:
                asked = dt.date.fromisoformat(options["before"])
            except ValueError as error:
                raise CommandError("--before must be a date, YYYY-MM-DD.") from error
            cutoff = min(cutoff, asked)  # never a day whose tokens may still bring feedback
        verbosity = options["verbosity"]
        report = prune_originals(
            cutoff=cutoff,
            dry_run=options["dry_run"],
            progress=(lambda message: self.stdout.write(message)) if verbosity >= 2 else (lambda message: None),
        )
        verb = "Would delete" if options["dry_run"] else "Deleted"
        if verbosity >= 1:
            self.stdout.write(self.style.SUCCESS(
                f"{verb} {report.deleted} original(s) without feedback from {report.days} day(s) before "
                f"{report.cutoff.isoformat()}; kept {report.kept} with feedback."
            ))
