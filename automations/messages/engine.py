"""A Django template engine for templates merchants write: an allow-list of tags and filters,
with limits on what one render may cost.

`{% debug %}` would print the whole context and loaded modules, `{% include %}`,
`{% extends %}` and `{% load %}` would read other templates or libraries, `{% url %}` /
`{% csrf_token %}` mean nothing in an email, and `{% lorem 1000000 w %}` is an amplifier: only
the tags below exist. Every filter is a capped wrapper of Django's own (see `limits`), every
piece of output and loop turn is charged to the render's budget. The context holds only plain
strings, numbers, lists and dicts, never model instances, so no template can call a method
with side effects.
"""

from collections.abc import Iterator
from functools import lru_cache, partial
from typing import Any

from django.template import Context, Engine, Library, Template, TemplateSyntaxError, defaulttags
from django.template.base import FilterExpression, Lexer, Node, NodeList, TokenType
from django.template.smartif import TokenBase

from . import limits
from .limits import TemplateLimitError

ALLOWED_TAGS = frozenset(
    {
        "autoescape",
        "comment",
        "cycle",
        "filter",
        "firstof",
        "for",
        "if",
        "ifchanged",
        "now",
        "spaceless",
        "templatetag",
        "verbatim",
        "widthratio",
        "with",
    }
)
# Tags with an end tag: what nests.
_BLOCKS = frozenset({"autoescape", "comment", "filter", "for", "if", "ifchanged", "spaceless", "verbatim", "with"})
# Tags whose output is their children's, already charged when the children rendered.
_CONTAINERS = (
    defaulttags.ForNode,
    defaulttags.IfNode,
    defaulttags.WithNode,
    defaulttags.SpacelessNode,
    defaulttags.AutoEscapeControlNode,
    defaulttags.IfChangedNode,
    defaulttags.CommentNode,
)


def _safe_library() -> Library:
    library = Library()
    library.filters.update(limits.capped_filters())
    library.tags.update({name: tag for name, tag in defaulttags.register.tags.items() if name in ALLOWED_TAGS})
    return library


@lru_cache(maxsize=1)
def safe_engine() -> Engine:
    engine = Engine(dirs=[], app_dirs=False, libraries={}, autoescape=True, string_if_invalid="")
    engine.template_builtins = [_safe_library()]
    return engine


class BudgetedContext(Context):
    """Every loop turn sets a variable here: the turn is charged, even in a loop that prints nothing."""

    def __setitem__(self, key, value):
        limits.budget().step()
        super().__setitem__(key, value)

    def update(self, other_dict):
        limits.budget().step()
        return super().update(other_dict)


def _charged(render_annotated, context):
    output = render_annotated(context)
    limits.budget().charge(len(output))
    return output


def _filter_expressions(value: Any) -> Iterator[FilterExpression]:
    """The filter expressions a tag holds in its attributes: `a|f:x` in a variable, an `if`
    condition, a `for` sequence, a `with` assignment, `firstof`, `cycle`, `widthratio`..."""
    if isinstance(value, FilterExpression):
        yield value
    elif isinstance(value, Node | NodeList):
        return  # walked on its own
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _filter_expressions(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _filter_expressions(item)
    elif isinstance(value, TokenBase):  # an `if` condition: operators and literals
        for item in vars(value).values():
            yield from _filter_expressions(item)


def _check_literal_arguments(node: Node) -> None:
    """`{{ x|ljust:2000000000 }}` is refused when it is compiled, even in a branch never taken."""
    for expression in _filter_expressions(list(vars(node).values())):
        for func, args in expression.filters:
            check = getattr(func, "literal_check", None)
            for is_lookup, arg in args:
                # A number is a "lookup" whose Variable already holds its value.
                value = arg.literal if is_lookup else arg
                if check and value is not None:
                    check(value)


def _instrument(template: Template) -> Template:
    for node in template.nodelist.get_nodes_by_type(Node):
        _check_literal_arguments(node)
        if not isinstance(node, _CONTAINERS):
            node.render_annotated = partial(_charged, node.render_annotated)
    return template


def _check_nesting(source: str) -> None:
    """Django parses and renders nested tags recursively: 3,000 nested `{% if %}` overflow the stack."""
    depth = 0
    for token in Lexer(source).tokenize():
        if token.token_type != TokenType.BLOCK:
            continue
        name = token.split_contents()[0] if token.contents else ""
        if name in _BLOCKS:
            depth += 1
            if depth > limits.MAX_NESTING:
                raise TemplateLimitError(f"This template nests tags more than {limits.MAX_NESTING} deep.")
        elif name.startswith("end"):
            depth -= 1


@lru_cache(maxsize=1024)
def compile_template(source: str) -> Template:
    """Compiled once per distinct source: a dispatcher batch renders the same step many times."""
    if len(source) > limits.MAX_SOURCE:
        raise TemplateLimitError(f"This template is longer than {limits.MAX_SOURCE // 1024} kB.")
    _check_nesting(source)
    return _instrument(safe_engine().from_string(source))


def plain(text: str) -> str:
    """`text` as an ordinary str. Django's renderers return SafeString, which any template showing
    it would print unescaped: a buyer's `<meta http-equiv=refresh>` would become a tag in the
    dashboard. (`str()` keeps the subclass: SafeString.__str__ returns itself.)"""
    return str.__str__(text)


def render(source: str, context: dict, *, autoescape: bool) -> str:
    """The merchant's template rendered within the limits, as plain text (never marked safe).

    Raises TemplateSyntaxError for a broken template, one past a limit (TemplateLimitError), and
    one whose filter fails on this data (`|wordwrap:0`): the caller reports it, nothing half-sent.
    """
    try:
        template = compile_template(source)
        output = limits.run_within_budget(lambda: template.render(BudgetedContext(context, autoescape=autoescape)))
    except TemplateSyntaxError:
        raise
    except Exception as exc:
        raise TemplateSyntaxError(f"{type(exc).__name__}: {exc}") from exc
    return plain(output)


# What the longest real checkout can put in a template (the ingest API's limits), so a template
# that would go past a limit for some buyer is refused when it is saved, not when it is sent.
_LONG = "W" * 100
STRESS_CONTEXT = {
    "first_name": _LONG,
    "last_name": _LONG,
    "buyer_name": f"{_LONG} {_LONG}",
    "store_name": "S" * 200,
    "store_url": "https://shop.example.com/" + "p" * 170,
    "items": [
        {
            "name": "N" * 200,
            "quantity": 100000,
            "price": "$1,000,000,000,000,000.00",
            "image_url": "https://shop.example.com/" + "i" * 170,
            "options": "O" * 200,
        }
    ]
    * 50,
    "total": "$1,000,000,000,000,000.00",
    "recovery_url": "https://comeback.example.com/ecom/v1/abandoned-checkout/" + "0" * 36 + "/redirect-to-checkout",
    "unsubscribe_url": "https://comeback.example.com/unsubscribe/" + "t" * 120 + "/",
    "discount_code": "D" * 64,
}


def validate_template(source: str) -> None:
    """Raise TemplateSyntaxError (with a message a merchant can act on) if `source` does not
    compile, or would go past a limit for the longest checkout a storefront can send."""
    try:
        compile_template(source)
    except TemplateSyntaxError:
        raise
    except (ValueError, KeyError, IndexError) as exc:  # some malformed tags fail before the parser words them
        raise TemplateSyntaxError(str(exc)) from exc
    render(source, STRESS_CONTEXT, autoescape=False)
