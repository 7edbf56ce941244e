"""Automatic answers on the messaging channels: keyword replies, yes/no confirmations (e.g. of
an appointment) and order status look-ups through the company's own HTTP endpoint."""
