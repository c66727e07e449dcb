"""Persistence: SQLAlchemy 2 Core tables, Alembic migrations, engines for SQLite and PostgreSQL."""
