"""What one render of a merchant's template may cost: output, work and CPU time.

A template is code a merchant runs on our workers: `{{ first_name|ljust:2000000000 }}` or three
nested `{% for %}` over a name would take gigabytes or minutes. Every filter a template may use
is wrapped here: arguments that size the output (widths, precisions) are capped before the
filter runs, and every result is measured. The engine charges every piece of output and every
loop turn to the render's `Budget`, so a render stops at the first step past a limit, with an
error the merchant can act on (a form error at save, `TEMPLATE_ERROR` at send time).
"""

import re
import time
from collections.abc import Callable
from contextvars import ContextVar
from functools import wraps
from typing import Any

from django.template import TemplateSyntaxError, defaultfilters

# Far above any real email (the default one renders ~600 characters) and far below harm.
MAX_OUTPUT = 256 * 1024  # characters one render may produce, and any one value may hold
MAX_SOURCE = 64 * 1024  # characters of template source
MAX_WIDTH = 1000  # ljust / rjust / center widths, stringformat width and precision
MAX_DECIMALS = 30  # floatformat places
MAX_NESTING = 30  # tags inside tags: Django parses and renders them recursively
# Loop turns, rendered nodes and filter calls. A real template with 300 line items takes a few
# thousand; the count is deterministic, where a CPU budget alone would depend on the machine.
MAX_STEPS = 100_000
TIME_BUDGET_SECONDS = 1.0  # CPU time of the rendering thread: the backstop for any one slow step


class TemplateLimitError(TemplateSyntaxError):
    """A template went past a limit. A TemplateSyntaxError, so every caller that reports a broken
    template (form, preview, dispatcher's TEMPLATE_ERROR) reports this one too."""


class Budget:
    """What one render has left. Not shared between threads: each render makes its own."""

    def __init__(self) -> None:
        self.output = 0
        self.steps = 0
        self.deadline = time.thread_time() + TIME_BUDGET_SECONDS

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise TemplateLimitError(
                f"This template does too much work (more than {MAX_STEPS:,} loop turns, tags and filters)."
            )
        # Reading the thread's CPU clock costs as much as a loop turn: every 64th step is enough.
        if not self.steps % 64 and time.thread_time() > self.deadline:
            raise TemplateLimitError(f"This template takes too long to render (over {TIME_BUDGET_SECONDS:g} s).")

    def charge(self, produced: int) -> None:
        self.output += produced
        if self.output > MAX_OUTPUT:
            raise TemplateLimitError(f"This template produces too much text (over {MAX_OUTPUT // 1024} kB).")
        self.step()


_current: ContextVar[Budget | None] = ContextVar("template_budget", default=None)


def budget() -> Budget:
    """The running render's budget (a fresh one outside a render, e.g. a filter called directly)."""
    return _current.get() or Budget()


def run_within_budget(render: Callable[[], str]) -> str:
    token = _current.set(Budget())
    try:
        return render()
    finally:
        _current.reset(token)


def _too_big(value: Any) -> bool:
    return isinstance(value, str | list | tuple) and len(value) > MAX_OUTPUT


def _refuse(filter_name: str, why: str) -> None:
    raise TemplateLimitError(f"|{filter_name}: {why}")


def _whole_number(filter_name: str, arg: Any) -> int:
    try:
        return int(arg)
    except (TypeError, ValueError):
        _refuse(filter_name, f"{arg!r} is not a whole number.")


def _check_width(filter_name: str, value: Any, arg: Any) -> None:
    if abs(_whole_number(filter_name, arg)) > MAX_WIDTH:
        _refuse(filter_name, f"the width {arg} is above the limit of {MAX_WIDTH}.")


# Python's printf spec without the "%": flags, width, precision, length, conversion.
_PRINTF = re.compile(r"[#0\- +]*(?P<width>\d*)(?:\.(?P<precision>\d*))?[hlL]?[diouxXeEfFgGcrsa]")


def _check_stringformat(filter_name: str, value: Any, arg: Any) -> None:
    spec = _PRINTF.fullmatch(str(arg))
    if spec is None:
        _refuse(filter_name, f'{str(arg)!r} is not a format such as "s", "5.2f" or "03d".')
    for part in ("width", "precision"):
        if int(spec[part] or 0) > MAX_WIDTH:
            _refuse(filter_name, f"the {part} {spec[part]} is above the limit of {MAX_WIDTH}.")


def _check_floatformat(filter_name: str, value: Any, arg: Any) -> None:
    places = re.match(r"[+-]?\d+", str(arg))  # "2", "-3", "2g", "g": Django's own forms
    if places and abs(int(places[0])) > MAX_DECIMALS:
        _refuse(filter_name, f"{places[0]} decimal places are above the limit of {MAX_DECIMALS}.")


def _length(value: Any) -> int:
    try:
        return len(value)
    except TypeError:
        return len(str(value))


def _check_join(filter_name: str, value: Any, arg: Any) -> None:
    if not isinstance(value, list | tuple):
        return
    if len(value) > MAX_OUTPUT or _length(arg) * len(value) > MAX_OUTPUT:
        _refuse(filter_name, f"the result would be over {MAX_OUTPUT // 1024} kB.")
    if sum(len(str(item)) for item in value) > MAX_OUTPUT:
        _refuse(filter_name, f"the result would be over {MAX_OUTPUT // 1024} kB.")


def _check_add(filter_name: str, value: Any, arg: Any) -> None:
    # Lists and strings concatenate: `{% with b=a|add:a %}` nested doubles a value at each level.
    sized = (str, list, tuple)
    if isinstance(value, sized) and isinstance(arg, sized) and len(value) + len(arg) > MAX_OUTPUT:
        _refuse(filter_name, f"the result would be over {MAX_OUTPUT // 1024} kB.")


# Arguments checked before the filter runs (at save time too, when the argument is written in the
# template): the filters whose argument decides how much they produce.
ARGUMENT_CHECKS: dict[str, Callable[[str, Any, Any], None]] = {
    "ljust": _check_width,
    "rjust": _check_width,
    "center": _check_width,
    "stringformat": _check_stringformat,
    "floatformat": _check_floatformat,
    "join": _check_join,
    "add": _check_add,
}

# The builtin filters a template may use. Left out: those that write HTML or dump objects
# (urlize, urlizetrunc, unordered_list, json_script, pprint), which a plain-text message has
# no use for and which are the costliest to run.
ALLOWED_FILTERS = [
    "add",
    "addslashes",
    "capfirst",
    "center",
    "cut",
    "date",
    "default",
    "default_if_none",
    "dictsort",
    "dictsortreversed",
    "divisibleby",
    "escape",
    "escapejs",
    "escapeseq",
    "filesizeformat",
    "first",
    "floatformat",
    "force_escape",
    "get_digit",
    "iriencode",
    "join",
    "last",
    "length",
    "linebreaks",
    "linebreaksbr",
    "linenumbers",
    "ljust",
    "lower",
    "make_list",
    "phone2numeric",
    "pluralize",
    "random",
    "rjust",
    "safe",
    "safeseq",
    "slice",
    "slugify",
    "stringformat",
    "striptags",
    "time",
    "timesince",
    "timeuntil",
    "title",
    "truncatechars",
    "truncatechars_html",
    "truncatewords",
    "truncatewords_html",
    "upper",
    "urlencode",
    "wordcount",
    "wordwrap",
    "yesno",
]


def capped(name: str, func: Callable) -> Callable:
    """`func` (a builtin filter) that checks its sizing argument first and measures its result."""
    check = ARGUMENT_CHECKS.get(name)

    @wraps(func)  # keeps is_safe / needs_autoescape / expects_localtime, and the arity Django checks
    def filter_within_budget(value, *args, **kwargs):
        budget().step()
        if check and args:
            check(name, value, args[0])
        result = func(value, *args, **kwargs)
        if _too_big(result):
            _refuse(name, f"the result is over {MAX_OUTPUT // 1024} kB.")
        return result

    filter_within_budget.literal_check = (lambda arg: check(name, None, arg)) if check else None
    return filter_within_budget


def capped_filters() -> dict[str, Callable]:
    return {name: capped(name, defaultfilters.register.filters[name]) for name in ALLOWED_FILTERS}
