"""Django's PostgreSQL backend with timestamps read by a C parser (ADR 0021).

Django loads every `timestamp with time zone` through its own subclass of psycopg's
pure-Python loader (a regular expression, then two `replace` calls per value), even when
psycopg's C extension is installed: a third to a half of the client CPU of a sweep or a
rollup rebuild that reads hundreds of thousands of timestamps. This backend registers a
loader with the same result, parsed by `datetime.fromisoformat` (C).
"""
