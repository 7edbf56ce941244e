"""Routing: rules that put each new ticket in the right team, and per-team assignment of
tickets (and chat offers) to agents who are available, under capacity and within their hours."""
