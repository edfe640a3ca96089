"""The append-only audit trail of administrative actions, logins and machine calls."""
