"""Tables and queries (SQLModel); arrives with the case model."""
