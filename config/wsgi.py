"""WSGI entry point for gunicorn: `gunicorn config.wsgi`."""

import os

from django.core.wsgi import get_wsgi_application

from config.fastpath import ReceiverApplication

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

# Shopify's webhooks are answered ahead of Django's request handling (config/fastpath.py).
application = ReceiverApplication(get_wsgi_application())
