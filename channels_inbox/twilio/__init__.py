"""Twilio Programmable Messaging: SMS/MMS webhooks in (X-Twilio-Signature), the Messages API out."""
