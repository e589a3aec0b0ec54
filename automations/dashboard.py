"""What automations adds to the dashboard: navigation, the bell, the recovery-email actions and
timeline entries."""

from checkouts.extensions import (
    CheckoutAction,
    Confirmation,
    NavItem,
    register_checkout_action,
    register_header_template,
    register_nav,
    register_timeline_source,
)
from checkouts.models import Membership

from .selectors import my_open_tasks_count
from .services.manual import recovery_email_unavailable
from .timeline import checkout_timeline


def register_dashboard() -> None:
    register_nav(NavItem(label="Automations", url_name="automations:list", order=30))
    register_nav(NavItem(label="Tasks", url_name="automations:tasks", order=40, badge=my_open_tasks_count))
    register_nav(NavItem(label="Sent emails", url_name="automations:emails", order=50))
    register_header_template("automations/includes/bell.html")
    register_timeline_source(checkout_timeline)
    register_checkout_action(
        CheckoutAction(
            label="Send recovery email",
            url_name="automations:recovery_email",
            min_role=Membership.Role.MANAGER,
            order=20,
            unavailable=recovery_email_unavailable,
        )
    )
    register_checkout_action(
        CheckoutAction(
            label="Send recovery email",
            url_name="automations:recovery_email_bulk",
            min_role=Membership.Role.MANAGER,
            order=20,
            bulk=True,
            method="post",
            confirm=Confirmation(
                title="Send the recovery email to {n} buyer{s}?",
                question="Each buyer gets the recovery email below (shown for the first of them, in their "
                "language). Recovered, unsubscribed and recently emailed checkouts are skipped.",
                button="Send {n} email{s}",
                preview_url_name="automations:recovery_email_html",
            ),
        )
    )
