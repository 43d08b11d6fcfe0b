"""New rows of several models written in one round trip to PostgreSQL.

Job creation writes four kinds of row (the budget reservation, the job, its asset links, its first
timeline event); saved one by one, each is a round trip and a pass through ``Model.save()``, about
a quarter of a creation's time (``bench/README.md``). Django's own insert compiler builds each
statement, exactly as ``save()`` and ``bulk_create()`` would (defaults, ``auto_now`` fields,
every field's database conversion), and they are sent together: with psycopg's client-side
binding, which Django uses unless ``server_side_binding`` is set, several statements go as one
simple query (https://www.psycopg.org/psycopg3/docs/advanced/cursors.html#client-side-binding-cursors).
Elsewhere (SQLite) each run of rows of one model is one ``bulk_create()``.

What this gives up, as ``bulk_create()`` does, so that only rows that can do without it go through
here: no ``pre_save`` or ``post_save`` signal is sent; and on PostgreSQL an auto-increment primary
key stays unset on the instance (the statements return nothing). A row's failure (a constraint)
fails the whole call, as it would fail the transaction the rows are written in."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

from django.db import connections, models
from django.db.models.sql import InsertQuery


def insert_together(rows: Sequence[models.Model], *, using: str = "default") -> None:
    """Insert new, unsaved ``rows`` (any models, in this order)."""
    connection = connections[using]
    if connection.vendor != "postgresql" or connection.settings_dict.get("OPTIONS", {}).get("server_side_binding"):
        for model, same in groupby(rows, key=type):  # one bulk INSERT per run of rows of one model
            model._base_manager.using(using).bulk_create(list(same))
        return
    statements: list[str] = []
    params: list[object] = []
    for row in rows:
        meta = row._meta
        fields = [f for f in meta.local_concrete_fields
                  if not f.generated and not (f.primary_key and getattr(row, f.attname) is None)]
        query = InsertQuery(type(row))
        query.insert_values(fields, [row])
        for sql, sql_params in query.get_compiler(connection=connection).as_sql():
            statements.append(sql)
            params.extend(sql_params)
    with connection.cursor() as cursor:
        cursor.execute(";\n".join(statements), params)
    for row in rows:
        row._state.adding = False
        row._state.db = using
