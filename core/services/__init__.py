"""Services act: each takes the session and the acting user, checks permissions, writes the audit
event and flushes; the edge (CLI command, page action) commits once per user action."""
