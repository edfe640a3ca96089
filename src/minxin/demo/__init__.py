"""A realistic demo organisation and a few hundred orders in every state (DESIGN §1)."""
