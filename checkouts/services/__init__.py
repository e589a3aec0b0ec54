"""Every write the checkouts app makes goes through a function here."""

from .activities import (
    ActivityEntry,
    activities_insert,
    activities_record_bulk,
    activities_record_locked,
    activity_record,
)
from .bulk import bulk_job_create, bulk_job_run, bulk_jobs_resume
from .clicks import abandoned_checkout_click_record
from .erasure import abandoned_checkout_anonymise, abandoned_checkout_delete, abandoned_checkouts_delete
from .ingest import IngestOutcome, IngestResult, checkout_events_ingest
from .invitations import (
    InvitationUnavailable,
    invitation_accept,
    invitation_create,
    invitation_for_token,
    invitation_revoke,
    invitation_url,
)
from .lifecycle import (
    abandoned_checkout_recover,
    abandoned_checkout_refresh,
    abandoned_checkouts_recover_for_order,
    abandoned_checkouts_recover_for_orders,
    abandoned_checkouts_refresh,
)
from .members import LastOwnerError, membership_add, membership_remove, membership_role_change
from .operations import scheduler_heartbeat_record
from .outbox import domain_event, webhook_event_build, webhook_events_record
from .privacy import (
    ErasureError,
    abandoned_checkouts_retention_apply,
    buyer_erase,
    buyer_erase_preview,
)
from .stores import api_key_create, api_key_revoke, membership_set, store_create, store_update
from .sweep import abandoned_checkouts_detect

__all__ = [
    "ActivityEntry",
    "ErasureError",
    "IngestOutcome",
    "IngestResult",
    "InvitationUnavailable",
    "LastOwnerError",
    "abandoned_checkout_anonymise",
    "abandoned_checkout_click_record",
    "abandoned_checkout_delete",
    "abandoned_checkout_recover",
    "abandoned_checkout_refresh",
    "abandoned_checkouts_delete",
    "abandoned_checkouts_detect",
    "abandoned_checkouts_recover_for_order",
    "abandoned_checkouts_recover_for_orders",
    "abandoned_checkouts_refresh",
    "abandoned_checkouts_retention_apply",
    "activities_insert",
    "activities_record_bulk",
    "activities_record_locked",
    "activity_record",
    "api_key_create",
    "api_key_revoke",
    "bulk_job_create",
    "bulk_job_run",
    "bulk_jobs_resume",
    "buyer_erase",
    "buyer_erase_preview",
    "checkout_events_ingest",
    "domain_event",
    "invitation_accept",
    "invitation_create",
    "invitation_for_token",
    "invitation_revoke",
    "invitation_url",
    "membership_add",
    "membership_remove",
    "membership_role_change",
    "membership_set",
    "scheduler_heartbeat_record",
    "store_create",
    "store_update",
    "webhook_event_build",
    "webhook_events_record",
]
