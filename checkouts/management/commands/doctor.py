"""`manage.py doctor`: is this install configured and connected? Says what is wrong in plain words."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config.doctor import Finding, Level, diagnose

SYMBOLS = {Level.OK: "✓", Level.WARNING: "!", Level.ERROR: "✗"}


class Command(BaseCommand):
    help = (
        "Check the configuration and the services this install needs (database, migrations, broker, "
        "scheduler, mail, static files, security settings). Exits with status 1 if anything is wrong."
    )
    requires_system_checks: list = []  # it runs them itself, and reports them in plain words

    def handle(self, *args, **options) -> None:
        mode = "production" if getattr(settings, "COMEBACK_PRODUCTION", False) else "development"
        self.stdout.write(f"Comeback doctor: {settings.SETTINGS_MODULE} ({mode} rules)\n")
        findings = diagnose()
        for finding in findings:
            self.stdout.write(self._line(finding))
        errors = sum(finding.level == Level.ERROR for finding in findings)
        warnings = sum(finding.level == Level.WARNING for finding in findings)
        summary = f"\n{errors} problem(s), {warnings} warning(s)."
        if errors:
            raise CommandError(f"{summary.strip()} Fix the problems marked ✗ and run doctor again.")
        self.stdout.write(self.style.SUCCESS(summary) if not warnings else self.style.WARNING(summary))

    def _line(self, finding: Finding) -> str:
        style = {Level.OK: self.style.SUCCESS, Level.WARNING: self.style.WARNING, Level.ERROR: self.style.ERROR}
        return f"  {style[finding.level](SYMBOLS[finding.level])} {finding.topic}: {finding.message}"
