"""The store: SQLAlchemy models, the database handle and repositories (which never commit)."""
