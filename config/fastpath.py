"""Platform webhooks and browser beacons skip the middleware that serves people signed in.

/connect/ holds only machine receivers (Shopify, Saleor, Wix webhooks, comeback.js beacons): no
session, user, store, messages, CSRF token or sign-in lockout means anything there, and a
busy shop sends them by the thousand. This middleware sits after the security, static-file and
header middleware and, for those paths, calls the view directly, as HealthProbeMiddleware does for the
probes; every other path goes down the whole chain. An exception the view raises (Http404) is turned
into the usual error response by the handler's wrapper around this middleware.
"""

from django.urls import resolve

RECEIVER_PREFIX = "/connect/"


class ReceiverFastPathMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith(RECEIVER_PREFIX):
            match = resolve(request.path_info)
            request.resolver_match = match
            response = match.func(request, *match.args, **match.kwargs)
            if callable(getattr(response, "render", None)):
                response = response.render()  # a DRF or template response, as the handler would
            return response
        return self.get_response(request)
