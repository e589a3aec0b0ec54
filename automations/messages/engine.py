"""A Django template engine for templates merchants write, with the tags that reach outside
the context taken away.

`{% debug %}` would print the whole context and loaded modules, `{% include %}`,
`{% extends %}` and `{% load %}` would read other templates or libraries, and `{% url %}` /
`{% csrf_token %}` mean nothing in an email. What is left is enough for "Hi {{ first_name }}".
The context holds only plain strings, numbers, lists and dicts, never model instances, so
no template can call a method with side effects.
"""

from functools import lru_cache

from django.template import Context, Engine, Library, Template, TemplateSyntaxError, defaultfilters, defaulttags

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


def _safe_library() -> Library:
    library = Library()
    library.filters.update(defaultfilters.register.filters)
    library.tags.update({name: tag for name, tag in defaulttags.register.tags.items() if name in ALLOWED_TAGS})
    return library


@lru_cache(maxsize=1)
def safe_engine() -> Engine:
    engine = Engine(dirs=[], app_dirs=False, libraries={}, autoescape=True, string_if_invalid="")
    engine.template_builtins = [_safe_library()]
    return engine


@lru_cache(maxsize=1024)
def compile_template(source: str) -> Template:
    """Compiled once per distinct source: a dispatcher batch renders the same step many times."""
    return safe_engine().from_string(source)


def plain(text: str) -> str:
    """`text` as an ordinary str. Django's renderers return SafeString, which any template showing
    it would print unescaped: a buyer's `<meta http-equiv=refresh>` would become a tag in the
    dashboard. (`str()` keeps the subclass: SafeString.__str__ returns itself.)"""
    return str.__str__(text)


def render(source: str, context: dict, *, autoescape: bool) -> str:
    """The merchant's template rendered, as plain text: never marked safe."""
    return plain(compile_template(source).render(Context(context, autoescape=autoescape)))


def validate_template(source: str) -> None:
    """Raise TemplateSyntaxError (with a message a merchant can act on) if `source` does not compile."""
    try:
        compile_template(source)
    except TemplateSyntaxError:
        raise
    except (ValueError, KeyError, IndexError) as exc:  # some malformed tags fail before the parser words them
        raise TemplateSyntaxError(str(exc)) from exc
