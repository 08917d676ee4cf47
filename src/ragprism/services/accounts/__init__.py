"""Accounts and teams: registration, login tokens, roles, API keys, and master-key rotation
of every stored secret."""
