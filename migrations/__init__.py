"""Alembic migrations of the read model (package data; ``grantflow db upgrade`` runs them)."""
