"""Outbound webhooks: subscriptions, signed deliveries sent by retrying tasks, a delivery log."""
