"""Abuse resistance: the OWASP API Security Top 10 (2023) cases that apply, on both faces.

API1 object-level authorization, API2 authentication, API3 property-level
authorization, API4 resource consumption, API5 function-level authorization,
API8 security misconfiguration; the Redis-shared budget in its own module.
API6 (business flows), API7 (SSRF), API9 (inventory) and API10 (unsafe
consumption) have no surface yet: no webhooks, no outbound calls.
"""
