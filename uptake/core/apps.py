from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "uptake.core"
    label = "core"

    def ready(self) -> None:
        _cache_long_postgres_statements()


def _cache_long_postgres_statements() -> None:
    """Let psycopg cache the parsing of long statements too.

    psycopg 3 parses a statement's `%s` placeholders in Python and caches the result only for
    statements up to 4,096 bytes and 50 parameters. The bulk paths (analytics rollups, rule
    enrolments) send multi-row statements of hundreds of rows whose text repeats from chunk to
    chunk; uncached, their parsing was most of a 100,000-people recompute's client CPU on
    PostgreSQL (91 s of 203 s profiled). The cache stays bounded (psycopg's LRU of 128
    statements). A no-op without psycopg or if its internals change."""
    try:
        from psycopg import _queries
    except ImportError:  # SQLite-only installation
        return
    if hasattr(_queries, "MAX_CACHED_STATEMENT_LENGTH") and hasattr(
        _queries, "MAX_CACHED_STATEMENT_PARAMS"
    ):
        _queries.MAX_CACHED_STATEMENT_LENGTH = 1 << 20
        _queries.MAX_CACHED_STATEMENT_PARAMS = 1 << 16
