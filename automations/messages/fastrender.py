"""Our email layouts rendered without Django's per-node machinery, to the same text.

A recovery email renders two layouts of some sixty nodes each. Django resolves every
`{{ item.name }}` through `render_annotated`, `FilterExpression.resolve`, `Variable.resolve`,
`_resolve_lookup`, `Context.__getitem__`, `render_value_in_context`, `localize` and
`conditional_escape`: about a third of a dispatcher step's Python went there. The layouts use
a handful of constructs, and for plain data (dicts, lists, strings) each of them comes down to
a dictionary lookup and an escape. `compile_fast` turns a template's nodes into a tree of
such steps once, and every render walks it.

Exactness is by refusal. A construct not listed here makes `compile_fast` return None (the
template renders as Django renders it), and at render time anything off the plain path (a
missing variable, a value that is not a str, dict or list where it is looked into, something
callable) raises `Fallback`, and the caller renders the whole template with Django instead.
What the fast path does render is what Django renders: each step below names the Django code
it stands for. `tests/automations/test_layout.py` compares both on hostile data in every
shipped language.
"""

import html
from collections.abc import Callable
from typing import Any

from django.template import Context
from django.template.base import FilterExpression, Template, TextNode, Variable, VariableNode, render_value_in_context
from django.template.defaulttags import AutoEscapeControlNode, ForNode, IfNode, LoadNode, TemplateLiteral
from django.templatetags.i18n import BlockTranslateNode
from django.utils import translation
from django.utils.safestring import SafeData, mark_safe
from django.utils.timezone import template_localtime


class Fallback(Exception):
    """This render left the plain path: render the template with Django."""


class Unsupported(Exception):
    """A construct the fast path does not know: the template renders with Django."""


# Context.__init__ puts these under every context.
_BUILTINS = {"True": True, "False": False, "None": None}


class _ValueContext:
    """What `render_value_in_context` reads of a Context (as `make_context` builds one)."""

    use_tz = None
    use_l10n = None

    def __init__(self, autoescape: bool):
        self.autoescape = autoescape


_VALUE_CONTEXTS = {True: _ValueContext(True), False: _ValueContext(False)}


def _resolve_variable(var: Variable, scopes: tuple[dict, ...]) -> Any:
    """`Variable.resolve` for a lookup through dicts; Fallback for anything else."""
    if var.lookups is None:
        return var.literal
    return _resolved(var.lookups[0], var.lookups[1:], scopes)


def _resolved(first: str, rest: tuple[str, ...], scopes: tuple[dict, ...]) -> Any:
    for scope in scopes:  # innermost first, as Context.__getitem__
        if first in scope:
            current = scope[first]
            break
    else:
        raise Fallback
    if callable(current):
        raise Fallback
    for bit in rest:
        if type(current) is not dict or bit not in current:
            raise Fallback
        current = current[bit]
        if callable(current):
            raise Fallback
    return current


def _lookup(lookups: tuple[str, ...]) -> Callable[[tuple, bool], Any]:
    """`_resolve_variable` of a variable with these lookups (no literal), split once for it."""
    first, rest = lookups[0], tuple(lookups[1:])

    def resolve(scopes: tuple, autoescape: bool) -> Any:
        return _resolved(first, rest, scopes)

    return resolve


def _compile_expression(expression: FilterExpression) -> Callable[[tuple, bool], Any]:
    """`FilterExpression.resolve(context)` (the variable found, no string_if_invalid involved)."""
    var = expression.var
    if isinstance(var, Variable):
        if var.translate or var.message_context or (var.lookups and var.lookups[0] == "forloop"):
            raise Unsupported
    elif not isinstance(var, str):
        raise Unsupported
    filters = []
    for func, args in expression.filters:
        for lookup, arg in args:
            if lookup and (not isinstance(arg, Variable) or arg.translate or arg.message_context):
                raise Unsupported
        filters.append(
            (
                func,
                args,
                getattr(func, "expects_localtime", False),
                getattr(func, "needs_autoescape", False),
                getattr(func, "is_safe", False),
            )
        )
    is_var = expression.is_var
    if not filters and is_var and var.lookups is not None:
        # `{{ item.name }}`, `{% if item.image_url %}`: the lookup alone, its steps fixed here.
        return _lookup(var.lookups)

    def resolve(scopes: tuple, autoescape: bool) -> Any:
        obj = _resolve_variable(var, scopes) if is_var else var
        for func, args, localtime, needs_autoescape, is_safe in filters:
            # As Django marks a filter's constant argument (a literal written in our layout, never a
            # buyer's or merchant's value): FilterExpression.resolve's own mark_safe.
            arg_vals = [
                _resolve_variable(arg, scopes) if lookup else mark_safe(arg)  # noqa: S308  # nosec B308 B703
                for lookup, arg in args
            ]
            if localtime:
                obj = template_localtime(obj, None)
            new_obj = func(obj, *arg_vals, autoescape=autoescape) if needs_autoescape else func(obj, *arg_vals)
            # Django's rule (FilterExpression.resolve): a filter marked is_safe keeps input that was
            # already safe safe; anything else stays as the filter returned it and is escaped on output.
            safe_in = is_safe and isinstance(obj, SafeData)
            obj = mark_safe(new_obj) if safe_in else new_obj  # noqa: S308  # nosec B308 B703
        return obj

    return resolve


def _render_value(value: Any, autoescape: bool) -> str:
    """`render_value_in_context`: a plain str is neither a time nor localized, and escaping it is
    conditional_escape → escape → html.escape; any other value goes through Django's function."""
    if type(value) is str:
        return html.escape(value) if autoescape else value
    return _render_other(value, autoescape)


# A one-digit int (a line's quantity) as `localize` writes it in every language: Django's
# number_format returns it as it is when it does not group, and grouping puts a separator
# only between two digits. Neither a time nor anything to escape.
_DIGITS = {number: str(number) for number in range(10)}


def _render_other(value: Any, autoescape: bool) -> str:
    """`render_value_in_context` of a value that is not a str."""
    if type(value) is int and value in _DIGITS:
        return _DIGITS[value]
    return render_value_in_context(value, _VALUE_CONTEXTS[autoescape])


def _variable(node: VariableNode, autoescape: bool):
    """`VariableNode.render`."""
    expression = node.filter_expression
    resolve = _compile_expression(expression)
    var = expression.var
    if expression.filters or not isinstance(var, Variable) or var.lookups is None:

        def render(scopes: tuple, out: list) -> None:
            out.append(_render_value(resolve(scopes, autoescape), autoescape))

        return render
    if len(var.lookups) > 1:

        def render_lookup(scopes: tuple, out: list) -> None:
            # `{{ item.name }}`: `resolve` is `_lookup`'s, `_render_value` inlined.
            value = resolve(scopes, autoescape)
            if type(value) is str:
                out.append(html.escape(value) if autoescape else value)
            else:
                out.append(_render_other(value, autoescape))

        return render_lookup
    name = var.lookups[0]

    def render_name(scopes: tuple, out: list) -> None:
        # `{{ name }}`, the commonest: _resolve_variable and _render_value inlined.
        for scope in scopes:
            if name in scope:
                value = scope[name]
                break
        else:
            raise Fallback
        if type(value) is str:
            out.append(html.escape(value) if autoescape else value)
        elif callable(value):
            raise Fallback
        else:
            out.append(_render_other(value, autoescape))

    return render_name


def _for(node: ForNode, template: Template, autoescape: bool, depth: int):
    if len(node.loopvars) != 1:
        raise Unsupported
    sequence = _compile_expression(node.sequence)
    body = _compile_nodes(node.nodelist_loop, template, autoescape, depth + 1)
    empty = _compile_nodes(node.nodelist_empty, template, autoescape, depth + 1)
    name, reverse = node.loopvars[0], node.is_reversed

    def render(scopes: tuple, out: list) -> None:
        values = sequence(scopes, autoescape)
        if type(values) is not list:
            raise Fallback
        if not values:
            # ForNode renders nodelist_empty in a pushed context, with no "forloop" set.
            for op in empty:
                op(({}, *scopes), out)
            return
        for item in reversed(values) if reverse else values:
            inner = ({name: item}, *scopes)
            for op in body:
                op(inner, out)

    return render


def _if(node: IfNode, template: Template, autoescape: bool, depth: int):
    branches = []
    for condition, nodelist in node.conditions_nodelists:
        if condition is not None and type(condition) is not TemplateLiteral:
            raise Unsupported
        test = None if condition is None else _compile_expression(condition.value)
        branches.append((test, _compile_nodes(nodelist, template, autoescape, depth)))

    def render(scopes: tuple, out: list) -> None:
        for test, ops in branches:
            if test is None or test(scopes, autoescape):
                for op in ops:
                    op(scopes, out)
                return

    return render


def _block_translate(node: BlockTranslateNode, template: Template, autoescape: bool, depth: int):
    """`{% blocktranslate %}` without plural, context or `asvar`: its text depends only on the
    language and the values of its variables, so it is rendered by Django once per those."""
    if node.plural or node.countervar or node.message_context or node.asvar or node.extra_context:
        raise Unsupported
    by_django = _by_django(node, template, autoescape, depth)
    names = tuple(node.render_token_list(node.singular)[1])
    done: dict[tuple, str] = {}

    def render(scopes: tuple, out: list) -> None:
        data = scopes[-2]
        values = tuple(data.get(name) for name in names)
        if not all(type(value) is str for value in values):
            by_django(scopes, out)
            return
        key = (translation.get_language(), values)
        text = done.get(key)
        if text is None:
            if len(done) >= BLOCK_TRANSLATIONS_KEPT:
                done.clear()
            parts: list[str] = []
            by_django(scopes, parts)
            text = done[key] = parts[0]
        out.append(text)

    return render


# Per `{% blocktranslate %}` of a layout: a batch's stores and languages, many times over.
BLOCK_TRANSLATIONS_KEPT = 256


def _by_django(node, template: Template, autoescape: bool, depth: int):
    """A node rendered by Django in a Context holding the render's data, as `Template.render`
    sets one up. Outside loops only: a loop's variables and `forloop` are not in that Context."""
    if depth:
        raise Unsupported

    def render(scopes: tuple, out: list) -> None:
        context = Context(scopes[-2], autoescape=autoescape)  # the render's data, under the builtins
        with context.render_context.push_state(template), context.bind_template(template):
            context.template_name = template.name
            out.append(node.render_annotated(context))

    return render


def _text(text: str):
    def render(scopes: tuple, out: list) -> None:
        out.append(text)

    render.text = text
    return render


def _merged(ops: list) -> list:
    """Neighbouring constant texts as one."""
    merged: list = []
    for op in ops:
        if merged and hasattr(op, "text") and hasattr(merged[-1], "text"):
            merged[-1] = _text(merged[-1].text + op.text)
        else:
            merged.append(op)
    return merged


def _compile_nodes(nodelist, template: Template, autoescape: bool, depth: int) -> list:
    ops = []
    for node in nodelist:
        kind = type(node)
        if kind is TextNode:
            ops.append(_text(node.s))
        elif kind is LoadNode:
            continue
        elif kind is VariableNode:
            ops.append(_variable(node, autoescape))
        elif kind is ForNode:
            ops.append(_for(node, template, autoescape, depth))
        elif kind is IfNode:
            ops.append(_if(node, template, autoescape, depth))
        elif kind is AutoEscapeControlNode:
            ops.extend(_compile_nodes(node.nodelist, template, node.setting, depth))
        elif kind is BlockTranslateNode:
            ops.append(_block_translate(node, template, autoescape, depth))
        else:
            raise Unsupported
    return _merged(ops)


def compile_fast(template: Template, *, autoescape: bool) -> Callable[[dict], str] | None:
    """A function rendering `template` from a dict as `template.render(Context(data))` does
    (raising Fallback when it cannot), or None if the template uses a construct not known here."""
    try:
        ops = _compile_nodes(template.nodelist, template, autoescape, 0)
    except Unsupported:
        return None

    def render(data: dict) -> str:
        if type(data) is not dict:
            raise Fallback
        scopes = (data, _BUILTINS)
        out: list[str] = []
        for op in ops:
            op(scopes, out)
        return "".join(out)

    return render
