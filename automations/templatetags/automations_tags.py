from django import template

from ..selectors import unread_count

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notifications(context) -> str:
    """The bell's number: "" when nothing is unread, "99+" past the cap. One small query."""
    request = context.get("request")
    store = getattr(request, "store", None)
    if store is None or not request.user.is_authenticated:
        return ""
    count, capped = unread_count(store=store, user=request.user)
    return f"{count}+" if capped else (str(count) if count else "")
