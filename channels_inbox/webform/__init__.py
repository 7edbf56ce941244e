"""The web channel: the customer web form and portal replies (see `portal`)."""
