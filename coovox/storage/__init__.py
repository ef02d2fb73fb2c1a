"""Storage: Tortoise ORM on SQLite (default) or PostgreSQL, with committed migrations."""
