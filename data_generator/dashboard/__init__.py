"""The dashboard: charts over the marts for people who would rather look than read rows.

It only reads (a read-only session on PostgreSQL, the file opened read-only on DuckDB), and
every SQL statement it runs is in `queries.py`, so what it may touch in the warehouse is visible
in one place.
"""
