from sqlalchemy import func, inspect, select

from queries.db import data_version, init_db
from queries.schema.data import regions


def test_init_creates_schema_and_regions_and_is_idempotent(engine):
    init_db(engine)  # a second run upgrades nothing and loads no duplicate regions
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(regions)).scalar_one() == 20
        names = set(inspect(conn).get_table_names())
    assert {"responses", "trust_scores", "uploads", "proposals", "ngo_activity"} <= names
    assert "alembic_version" in names
    assert data_version(engine) == "0.0"
