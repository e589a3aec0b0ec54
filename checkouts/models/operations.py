"""What the operations checks read: proof that the scheduler is alive."""

from django.db import models


class SchedulerHeartbeat(models.Model):
    """When the scheduler's minute tick last ran end to end: beat published it, a worker ran it.

    One row per name, overwritten every minute, so the table never grows and two beats
    started by mistake still leave one row. `/readyz` and `manage.py doctor` read it.
    """

    BEAT = "beat"

    name = models.CharField(max_length=50, primary_key=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"
