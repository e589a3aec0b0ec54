from django.apps import AppConfig


class CheckoutsConfig(AppConfig):
    name = "checkouts"
    verbose_name = "Checkouts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import tasks  # noqa: F401  (register the Celery tasks: services wake them up by name)
        from .connectors import browser, saleor, shopify, wix  # noqa: F401  (register the connectors)
        from .connectors import tasks as connector_tasks  # noqa: F401  (register the connectors' tasks)
        from .extensions import CheckoutAction, Confirmation, NavItem, register_checkout_action, register_nav
        from .models import Membership
        from .webhooks.dashboard import register as register_webhooks

        Role = Membership.Role
        for item in (
            NavItem("Overview", "checkouts:overview", order=10),
            NavItem("Checkouts", "checkouts:list", order=20),
            NavItem("Settings", "checkouts:settings", order=90),
            NavItem("Store", "checkouts:settings", section="settings", order=10),
            NavItem("Members", "checkouts:members", min_role=Role.OWNER, section="settings", order=20),
            NavItem("API keys", "checkouts:api_keys", min_role=Role.OWNER, section="settings", order=30),
            NavItem("Connect your store", "connections:list", section="settings", order=35),
            NavItem("Privacy", "checkouts:privacy", min_role=Role.MANAGER, section="settings", order=50),
        ):
            register_nav(item)
        for action in (
            CheckoutAction(
                "Export selected", "checkouts:export", min_role=Role.MANAGER, order=80, bulk=True, method="post"
            ),
            CheckoutAction(
                "Anonymise selected",
                "checkouts:bulk_anonymise",
                min_role=Role.MANAGER,
                order=180,
                bulk=True,
                method="post",
                takes_filter=True,
                confirms_itself=True,
                confirm=Confirmation(
                    title="Anonymise {n} buyer{s}?",
                    question="Their email, name, phone and company are erased from these checkouts, their activities "
                    "and stored webhook payloads. The checkouts stay in your figures. This cannot be undone.",
                    button="Anonymise {n} buyer{s}",
                    danger=True,
                ),
            ),
            CheckoutAction(
                "Delete selected",
                "checkouts:bulk_delete",
                min_role=Role.MANAGER,
                order=190,
                bulk=True,
                method="post",
                takes_filter=True,
                confirms_itself=True,
                confirm=Confirmation(
                    title="Delete {n} abandoned checkout{s}?",
                    question="They disappear from the list, the API and every figure, and webhook subscribers "
                    "receive a 'deleted' event for each. This cannot be undone.",
                    button="Delete {n} checkout{s}",
                    danger=True,
                ),
            ),
        ):
            register_checkout_action(action)
        register_webhooks()
