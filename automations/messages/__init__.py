"""Rendering what automations send: recovery emails, text messages and staff emails."""
