from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"

    def ready(self):
        # The filter bars' option lists (core.options) show these rows: saving or deleting one
        # raises its organisation's options_version.
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from accounts.models import User
        from accounts.options import on_option_links_changed, on_option_row_saved
        from consignment.models import Facility
        from inventory.models import Manufacturer, Product, ProductLine

        for model in (User, Facility, Manufacturer, ProductLine, Product):
            post_save.connect(on_option_row_saved, sender=model,
                              dispatch_uid=f"options-{model._meta.label}-save")
            post_delete.connect(on_option_row_saved, sender=model,
                                dispatch_uid=f"options-{model._meta.label}-delete")
        # A rep's facilities (a list narrowed to them would change).
        m2m_changed.connect(on_option_links_changed, sender=Facility.reps.through,
                            dispatch_uid="options-facility-reps")
