"""The store scope is part of the structure: views never filter a tenant model by store themselves.

A view reaches a store's rows through a selector or `Model.objects.for_store(store)`, so the
one place that knows how a model reaches its store is the model's queryset. These tests read
the view modules' source (an AST walk, not a grep) and fail on a hand-typed store lookup.
"""

import ast
from pathlib import Path

import pytest
from django.apps import apps

from checkouts.models import Store
from checkouts.models.scope import StoreScopedQuerySet

ROOT = Path(__file__).resolve().parent.parent
VIEW_MODULES = ["checkouts/views", "checkouts/api/views", "checkouts/webhooks/views.py", "automations/views"]
QUERY_METHODS = {"filter", "exclude", "get", "get_or_create", "update_or_create", "select_for_update"}
QUERY_FUNCTIONS = {"get_object_or_404", "get_list_or_404", "Q"}


def _is_store_lookup(keyword: str) -> bool:
    return any(part in ("store", "store_id") for part in keyword.split("__"))


def store_filters(source: str) -> list[int]:
    """The lines of `source` where a queryset is filtered by store with a hand-typed lookup."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name not in QUERY_METHODS | QUERY_FUNCTIONS:
            continue
        keywords = [kw.arg for kw in node.keywords if kw.arg]
        # filter(**{"store": ...}) spells the lookup as a dict key.
        for kw in node.keywords:
            if kw.arg is None and isinstance(kw.value, ast.Dict):
                keywords += [k.value for k in kw.value.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)]
        if any(_is_store_lookup(keyword) for keyword in keywords):
            lines.append(node.lineno)
    return lines


def view_files() -> list[Path]:
    files = []
    for entry in VIEW_MODULES:
        path = ROOT / entry
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return files


def test_the_view_modules_exist():
    # A renamed folder would make the scan below pass on nothing.
    assert all((ROOT / entry).exists() for entry in VIEW_MODULES)
    assert len(view_files()) > 20


@pytest.mark.parametrize("path", view_files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_no_view_filters_a_tenant_model_by_store_itself(path):
    found = store_filters(path.read_text())
    assert not found, f"{path.relative_to(ROOT)} filters by store by hand on lines {found}: use for_store or a selector"


def test_one_mixin_decides_which_role_a_request_needs():
    # Pages configure `min_role` / `write_role`; none brings its own rule.
    rules = [
        str(path.relative_to(ROOT))
        for path in [*view_files(), ROOT / "checkouts/views/base.py", ROOT / "checkouts/tenancy.py"]
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef) and node.name in ("get_min_role", "get_write_role")
    ]
    assert sorted(set(rules)) == ["checkouts/views/base.py"]


@pytest.mark.parametrize(
    "snippet",
    [
        "ApiKey.objects.filter(store=self.store)",
        "Membership.objects.filter(store_id=self.store.pk).first()",
        "qs.exclude(store__name='x')",
        "get_object_or_404(WebhookDelivery, pk=pk, endpoint__store=self.store)",
        "WebhookDelivery.objects.get(endpoint__store_id=store_id)",
        "ApiKey.objects.filter(**{'store': store})",
        "Task.objects.filter(Q(store=store) | Q(pk=1))",
    ],
)
def test_the_scan_catches_a_hand_typed_store_filter(snippet):
    assert store_filters(f"def view(self):\n    return {snippet}\n") == [2]


@pytest.mark.parametrize(
    "snippet",
    [
        "ApiKey.objects.for_store(self.store).filter(pk=pk)",
        "webhook_endpoints_for_store(store=self.store)",
        "store_update(store=self.store, name='x')",
        "request.GET.get('store')",
        "Store.objects.filter(restore=True)",
    ],
)
def test_the_scan_leaves_selectors_services_and_for_store_alone(snippet):
    assert store_filters(f"def view(self):\n    return {snippet}\n") == []


def _reaches_store(model, seen=()) -> bool:
    for field in model._meta.get_fields():
        if field.many_to_one or (field.one_to_one and field.concrete):
            target = field.related_model
            if target is Store or (target not in seen and _reaches_store(target, (*seen, model))):
                return True
    return False


def tenant_models():
    return [
        model
        for model in apps.get_models()
        if model._meta.app_label in ("checkouts", "automations") and model is not Store and _reaches_store(model)
    ]


def test_every_tenant_model_can_be_scoped_to_a_store():
    models = tenant_models()
    assert len(models) > 20
    unscoped = [model.__name__ for model in models if not isinstance(model.objects.all(), StoreScopedQuerySet)]
    assert not unscoped


@pytest.mark.django_db
def test_for_store_keeps_one_store_s_rows_for_every_tenant_model(store, other_store):
    # Every model's path to its store is a real lookup, and it keeps the given store only.
    for model in tenant_models():
        sql = str(model.objects.for_store(store).query)
        assert str(store.pk).replace("-", "") in sql.replace("-", ""), model.__name__
        assert not model.objects.for_store(other_store).filter(pk__in=model.objects.for_store(store)).exists()
