"""The part of dbt's Jinja context that sqlfluff's jinja templater lacks (`adapter`, `dbt`), for
the offline lint of the models (dbt/fintrade/.sqlfluff, `library_path`): each module here is a
name in the context. Rendered as on PostgreSQL, the dialect the lint parses."""
