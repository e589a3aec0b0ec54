"""Machine-to-machine routes skip the middleware that serves people signed in.

/connect/ holds only machine receivers (Shopify, Saleor, Wix webhooks, comeback.js beacons), and a
request to the Wix-compatible API (/ecom/v1/) that carries an API key or an app's token is
authenticated by that credential alone (`checkouts.api.auth.ApiKeyAuthentication` never falls
back to the session when one is sent): no session, user, store, messages, CSRF token or sign-in
lockout means anything there, and they come by the thousand (a busy shop's webhooks, an app
paging through every checkout). This middleware sits after the request-id, security, static-file,
framing and content-policy middleware, so their headers are on every response; for those
requests it calls the view directly, as HealthProbeMiddleware does for the probes. Every other
request goes down the whole chain, including an /ecom/v1/ call without a credential (a dashboard
session using the API). An exception the view raises (Http404) is turned into the usual error
response by the handler's wrapper around this middleware.
"""

from django.urls import Resolver404, resolve

from checkouts.api.auth import api_credentials

RECEIVER_PREFIX = "/connect/"
API_PREFIX = "/ecom/v1/"


class ReceiverFastPathMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if path.startswith(RECEIVER_PREFIX) or (path.startswith(API_PREFIX) and api_credentials(request.META)):
            try:
                match = resolve(path)
            except Resolver404:
                return self.get_response(request)  # CommonMiddleware's APPEND_SLASH and the 404 page
            request.resolver_match = match
            response = match.func(request, *match.args, **match.kwargs)
            if callable(getattr(response, "render", None)):
                response = response.render()  # a DRF or template response, as the handler would
            if not response.streaming and not response.has_header("Content-Length"):
                # What CommonMiddleware would have added: the length, so keep-alive needs no chunking.
                response.headers["Content-Length"] = str(len(response.content))
            return response
        return self.get_response(request)
