"""Outgoing mail: templates rendered with Jinja2 (compose.py), handed to SMTP or a file."""
