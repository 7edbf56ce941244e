"""The SLA engine: business-hours arithmetic (`calendars`), policy selection (`selectors`),
per-ticket clocks and the SLA ledger (`services`), the breach sweep (`sweep`, `tasks`) and the
plain-language explanation of each deadline (`explain`)."""
