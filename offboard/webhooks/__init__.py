"""Webhooks out (SPEC §9): signed JSON POSTs to the endpoints a tenant subscribes."""
