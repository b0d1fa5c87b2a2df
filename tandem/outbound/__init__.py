"""Adapters for what leaves Tandem over the network: webhook requests (and, next, mail)."""
