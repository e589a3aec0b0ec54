from django.apps import AppConfig


class AutomationsConfig(AppConfig):
    name = "automations"
    verbose_name = "Automations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from checkouts import hooks

        from . import receivers, tasks  # noqa: F401  (tasks: registered, woken up by name)
        from .dashboard import register_dashboard

        hooks.abandoned_checkouts_created.connect(receivers.on_abandoned_checkouts_created, dispatch_uid="automations")
        hooks.abandoned_checkout_recovered.connect(
            receivers.on_abandoned_checkout_recovered, dispatch_uid="automations"
        )
        hooks.recovery_link_clicked.connect(receivers.on_recovery_link_clicked, dispatch_uid="automations")
        hooks.abandoned_checkouts_deleting.connect(
            receivers.on_abandoned_checkouts_deleting, dispatch_uid="automations"
        )
        hooks.abandoned_checkout_anonymising.connect(
            receivers.on_abandoned_checkout_anonymising, dispatch_uid="automations"
        )
        hooks.buyer_erasing.connect(receivers.on_buyer_erasing, dispatch_uid="automations")
        hooks.store_created.connect(receivers.on_store_created, dispatch_uid="automations")
        register_dashboard()
