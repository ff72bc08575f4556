"""Business rules.  Services take a session (or the Database) and ``now``; handlers and jobs call them."""
