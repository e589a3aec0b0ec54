"""Outgoing webhooks: endpoints, signing, the SSRF guard, delivery and the settings pages."""
