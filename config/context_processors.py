"""The dashboard's banner when background work (scheduler, worker) has stopped."""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from . import probes


@dataclass(frozen=True)
class BackgroundStall:
    since: datetime | None  # the last heartbeat in the store's time zone; None if there never was one

    @property
    def since_label(self) -> str:
        """The time alone today ("14:05"), with the day before that ("Dec 4, 14:05"): a stall of
        days must not read as one of minutes."""
        if self.since is None:
            return ""
        if self.since.date() == timezone.localtime(timezone.now(), self.since.tzinfo).date():
            return self.since.strftime("%H:%M")
        return f"{self.since:%b} {self.since.day}, {self.since:%H:%M}"


def background_stall(request) -> dict:
    """`background_stall` for signed-in dashboard pages: a BackgroundStall, or None while the
    scheduler's heartbeat is fresh. Lazy: the cached read happens only if the layout asks."""
    store = getattr(request, "store", None)
    if getattr(request, "membership", None) is None or store is None or not settings.COMEBACK_STALL_BANNER:
        return {}

    def stall() -> BackgroundStall | None:
        beat_at = probes.scheduler_heartbeat_cached()
        if not probes.scheduler_stalled(beat_at):
            return None
        return BackgroundStall(since=beat_at and timezone.localtime(beat_at, store.zone))

    return {"background_stall": SimpleLazyObject(stall)}
