"""Our own email layouts with their fixed words translated once per language, not once per email.

A `{% translate "Total" %}` costs a catalogue lookup, a lazy string and an escape check every
time it renders: eleven of them per recovery email were about a sixth of rendering it. A
`{% translate %}` of a plain literal gives the same text for every email in one language, so
each layout is compiled once per language with those tags replaced by their text. Everything
else (variables, loops, `{% blocktranslate %}` with a variable) renders as before, through
`fastrender.compile_fast` where it applies.
"""

import weakref

from django.template import Context
from django.template.backends.django import Template as BackendTemplate
from django.template.base import Node, NodeList, Template, TextNode, Variable
from django.template.defaulttags import IfNode
from django.template.loader import get_template
from django.templatetags.i18n import TranslateNode
from django.utils import translation

from .fastrender import Fallback, compile_fast

# Loaded template -> {language: the same template, its fixed words translated}. Keyed by the
# loaded object, so a template the loader reloads (DEBUG, an edited file) is compiled afresh.
_compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
LANGUAGES_KEPT = 32


def render_layout(name: str, context: dict) -> str:
    """`render_to_string(name, context)` in the active language, the same text."""
    loaded = get_template(name)
    language = translation.get_language()
    by_language = _compiled.get(loaded.template)
    if by_language is None:
        by_language = _compiled[loaded.template] = {}
    compiled = by_language.get(language)
    if compiled is None:
        if len(by_language) >= LANGUAGES_KEPT:
            # The buyer's language comes from the storefront, any string: past this many, the
            # layout renders as loaded (the same text, translated per email) instead of growing.
            return loaded.render(context)
        template = _translated(loaded)
        fast = compile_fast(template.template, autoescape=template.backend.engine.autoescape)
        compiled = by_language[language] = (template, fast)
    template, fast = compiled
    if fast is not None:
        try:
            return fast(context)
        except Fallback:
            pass  # off the plain path (fastrender.py): Django renders it, the same text
    return template.render(context)


def _translated(loaded: BackendTemplate) -> BackendTemplate:
    """A fresh compile of `loaded` (never the loader's own, shared nodes) with its constant
    `{% translate %}` tags replaced by their text in the active language."""
    source = loaded.template
    fresh = Template(source.source, origin=source.origin, name=source.name, engine=source.engine)
    _replace_constants(fresh.nodelist)
    return BackendTemplate(fresh, loaded.backend)


def _replace_constants(nodelist: NodeList) -> None:
    for index, node in enumerate(nodelist):
        if isinstance(node, TranslateNode):
            if (text := _constant_text(node)) is not None:
                replacement = TextNode(text)
                replacement.token, replacement.origin = node.token, node.origin
                nodelist[index] = replacement
            continue
        for child in _children(node):
            _replace_constants(child)


def _children(node: Node) -> list[NodeList]:
    if isinstance(node, IfNode):
        # Its `nodelist` is a copy made on each access; the branches are the real lists.
        return [branch for _, branch in node.conditions_nodelists]
    return [child for attr in node.child_nodelists if isinstance(child := getattr(node, attr, None), NodeList)]


def _constant_text(node: TranslateNode) -> str | None:
    """What the tag renders whatever the context, or None if that depends on the context."""
    expression = node.filter_expression
    var = expression.var
    if node.asvar or node.message_context or expression.filters or not isinstance(var, Variable):
        return None
    if var.literal is None or var.lookups is not None:
        return None
    # Rendered by the tag itself, with and without autoescaping: a literal's translation is
    # marked safe, so both agree; if they did not, the tag is left to render per email.
    escaped, raw = node.render(Context(autoescape=True)), node.render(Context(autoescape=False))
    return str(raw) if escaped == raw else None
