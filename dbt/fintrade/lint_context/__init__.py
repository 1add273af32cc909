"""What dbt puts in a model's Jinja context that sqlfluff's jinja templater does not: `adapter`
and `dbt`, so `make lint` renders models offline (no profile, no warehouse) as PostgreSQL.

The templater makes each module here a context variable by its name (library_path in
../.sqlfluff); nothing else imports this package.
"""
