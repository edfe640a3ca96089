"""The pure core: business rules over plain values, no database, web framework or clock."""
