"""Outgoing webhooks to tenants: endpoints, the per-job webhook, signed delivery from an outbox."""
