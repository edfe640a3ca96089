"""Routing: the table of "category × region → unit" rules and the decision it makes (派单规则)."""
