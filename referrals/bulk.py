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


def fast_insert(model: type[models.Model], rows, *, batch_size: int = 5000, with_ids: bool = False) -> int:
    """Insert rows (dicts of attnames) into the model's table; no signals, no pre_save, no returned ids.
    With `with_ids`, each row carries its primary key (from `allocate_ids`)."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key or with_ids]
    names = [f.attname for f in fields]
    # Constant defaults once; callable ones (e.g. a random code) per row that lacks the value.
    defaults = [f.get_default if callable(f.default) else (lambda v=f.get_default(): v) for f in fields]
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


def allocate_ids(model: type[models.Model], count: int) -> list[int]:
    """Reserve `count` primary keys for rows about to be inserted with `fast_insert` (so nothing has to be
    read back). PostgreSQL draws them from the table's sequence; SQLite continues after its last id (call it
    inside the import's transaction: SQLite's write lock keeps anyone else from inserting meanwhile)."""
    if count <= 0:
        return []
    table = model._meta.db_table
    column = model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [table, column, count])
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT MAX({connection.ops.quote_name(column)}) FROM {connection.ops.quote_name(table)}")
        last = cursor.fetchone()[0] or 0
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        start = max(last, row[0] if row else 0) + 1
        return list(range(start, start + count))


def existing(model: type[models.Model], field: str, values, columns) -> dict:
    """{value: (columns…)} for the rows whose `field` is in `values`: one array parameter on PostgreSQL
    (no 5,000-placeholder statements to build and parse), chunks of IN on SQLite."""
    values = list(values)
    found = {}
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(model._meta.get_field(field).column)
    selected = ", ".join([column, *(connection.ops.quote_name(c) for c in columns)])
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"SELECT {selected} FROM {table} WHERE {column} = ANY(%s)", [values])
            rows = cursor.fetchall()
        else:
            rows = []
            for start in range(0, len(values), 5000):
                chunk = values[start:start + 5000]
                cursor.execute(f"SELECT {selected} FROM {table} WHERE {column} IN ({', '.join(['%s'] * len(chunk))})", chunk)
                rows.extend(cursor.fetchall())
    for row in rows:
        found[row[0]] = tuple(row[1:])
    return found
