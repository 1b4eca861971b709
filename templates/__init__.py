"""Jinja2 templates for the mail requesters read, per intent and language."""
