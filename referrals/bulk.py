"""Fast bulk inserts for imports and benchmarks: COPY on PostgreSQL, executemany on SQLite.

`bulk_create` builds a model instance per row and prepares every value in Python; for the
100,000-row referral import that takes minutes. Here each row is a dict of attribute names
(missing ones take the model field's default) adapted once per column type, and no ids come back.
"""

from __future__ import annotations

from datetime import UTC

from django.db import connection, models


def _sqlite_time(value):
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return str(value)


def fast_insert(model: type[models.Model], rows, *, batch_size: int = 5000) -> int:
    """Insert rows (dicts of attnames) into the model's table; no signals, no pre_save, no returned ids."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    names = [f.attname for f in fields]
    defaults = [f.get_default for f in fields]
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sqlite = connection.vendor == "sqlite"
    times = [i for i, f in enumerate(fields) if isinstance(f, models.DateTimeField)]
    jsons = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]

    def values(row):
        out = [row[name] if name in row else defaults[i]() for i, name in enumerate(names)]
        for i in jsons:
            out[i] = fields[i].get_db_prep_save(out[i], connection)
        if sqlite:
            for i in times:
                out[i] = _sqlite_time(out[i])
        return out

    count = 0
    with connection.cursor() as cursor:
        if sqlite:
            sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"
            batch = []
            for row in rows:
                batch.append(values(row))
                if len(batch) >= batch_size:
                    cursor.executemany(sql, batch)
                    count, batch = count + len(batch), []
            if batch:
                cursor.executemany(sql, batch)
                count += len(batch)
        else:
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(values(row))
                    count += 1
    return count
