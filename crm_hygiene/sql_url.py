"""Database URLs as users write them, made to name the driver the project installs.

SQLAlchemy 2.1 reads a bare `postgresql://` as psycopg 3, which the project does not install
and whose COPY API differs from the one `bulk_sql` uses; 2.0 read it as psycopg2. A URL that
names no driver gets psycopg2, so `postgresql://user@host/db` works as PostgreSQL's own
documentation writes it. A URL that names a driver is left alone.
"""

from __future__ import annotations

import sqlalchemy as sa


def with_driver(url: str | sa.URL) -> sa.URL:
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg2")
    return parsed
