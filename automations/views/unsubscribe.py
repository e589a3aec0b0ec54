"""The public unsubscribe page behind the link in every recovery email."""

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from checkouts.languages import supported_language
from checkouts.models import Store

from ..messages.render import unsubscribe_token_language, unsubscribe_token_read
from ..models import Unsubscribe
from ..selectors import unsubscribe_find
from ..services.records import unsubscribe_create


# The signed token in the URL is the credential; mail clients' one-click POSTs (RFC 8058)
# come without a session or a CSRF token.
@method_decorator(csrf_exempt, name="dispatch")
class UnsubscribeView(View):
    template_name = "automations/unsubscribe.html"

    def read(self, token: str) -> tuple[Store, str]:
        data = unsubscribe_token_read(token)
        if data is None:
            raise Http404("This unsubscribe link is not valid.")
        store = Store.objects.filter(pk=data[0]).first()
        if store is None:
            raise Http404("This unsubscribe link is not valid.")
        return store, data[1]

    def dispatch(self, request, *args, token: str, **kwargs):
        self.store, self.email = self.read(token)
        # In the language of the email the link came in, else the store's.
        with translation.override(supported_language(unsubscribe_token_language(token), self.store.language)):
            return super().dispatch(request, *args, token=token, **kwargs)

    def get(self, request, token: str):
        done = unsubscribe_find(store_id=self.store.pk, email=self.email) is not None
        return render(request, self.template_name, {"store": self.store, "email": self.email, "done": done})

    def post(self, request, token: str):
        store, email = self.store, self.email
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        source = Unsubscribe.Source.ONE_CLICK if one_click else Unsubscribe.Source.LINK
        unsubscribe_create(store_id=store.pk, email=email, source=source)
        if one_click:
            return HttpResponse("Unsubscribed.", content_type="text/plain")
        return render(request, self.template_name, {"store": store, "email": email, "done": True, "just_done": True})
