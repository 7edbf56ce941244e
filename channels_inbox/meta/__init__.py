"""Meta's messaging channels: the WhatsApp Cloud API, Messenger and Instagram, all behind one
webhook (/inbound/meta/, X-Hub-Signature-256) and the Graph API for media and sending."""
