"""Where everything is kept: the tables (`models`), the database and its unit of work (`db`),
the audit log (`audit`) and the Alembic migrations (`migrations/`)."""
