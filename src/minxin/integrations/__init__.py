"""Machine integrations: API keys, outbound webhooks, transfers between hotlines, hand-offs
(see docs/integrations.md)."""
