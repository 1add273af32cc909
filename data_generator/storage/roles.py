"""The warehouse's least-privilege roles: who logs in as what, and setting them up.

`PGUSER` (a superuser) only creates the database, applies `sql/init.sql` (which creates the
roles and grants their rights) and sets the roles' passwords. Everything else logs in as one of
the roles, so a leaked analyst password reads marts and nothing more, and a bug in the loader
cannot drop a mart. Passwords come from the settings, else are generated once into the state
folder (mode 0600); they reach the server only as SCRAM verifiers computed here, so no server
log can hold one.
"""

from __future__ import annotations

import json
import os
import secrets
from enum import StrEnum
from pathlib import Path

import psycopg2
from psycopg2 import sql
from psycopg2.extensions import encrypt_password
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_incrementing

from data_generator.errors import first_line
from data_generator.settings import Settings
from data_generator.storage.warehouse import Connection, WarehouseError, apply_schema, connect

PASSWORDS_FILE = "role-passwords.json"
# Roles are shared by every database of a server, so two databases set up at once can collide
# on the same catalog row ("tuple concurrently updated"): such a statement is simply retried,
# after 0.1 s, 0.2 s, ... The `with conn` block around each statement has rolled its transaction
# back by then, and the last failure is raised as it is.
ROLE_UPDATE_ATTEMPTS = 5
_retry_role_update = retry(
    retry=retry_if_exception_type(psycopg2.InternalError),
    stop=stop_after_attempt(ROLE_UPDATE_ATTEMPTS),
    wait=wait_incrementing(start=0.1, increment=0.1),
    reraise=True,
)


class Role(StrEnum):
    LOADER = "fintrade_loader"
    TRANSFORMER = "fintrade_transformer"
    ANALYST = "fintrade_analyst"


def _configured_password(settings: Settings, role: Role) -> str | None:
    return {
        Role.LOADER: settings.loader_password,
        Role.TRANSFORMER: settings.transformer_password,
        Role.ANALYST: settings.analyst_password,
    }[role]


def _passwords_file(settings: Settings) -> Path:
    return settings.local_state_dir / PASSWORDS_FILE


def _generated_passwords(settings: Settings) -> dict[str, str]:
    """The state folder's passwords, made on first use; readable by the owner only. Written to a
    temporary file and linked into place, so a full disk or a crash never leaves half a file."""
    path = _passwords_file(settings)
    if not path.exists():
        passwords = {role.value: secrets.token_urlsafe(24) for role in Role}
        scratch = path.with_name(f".{PASSWORDS_FILE}.{os.getpid()}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(json.dumps(passwords))
            os.link(scratch, path)
        except FileExistsError:
            pass  # a concurrent process linked its file first: use that one
        except OSError as exc:
            raise WarehouseError(
                f"cannot write the role passwords to {path}: {exc.strerror or exc}"
            ) from None
        finally:
            scratch.unlink(missing_ok=True)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise WarehouseError(f"cannot read the role passwords in {path}: {exc}") from None


def password(settings: Settings, role: Role) -> str:
    configured = _configured_password(settings, role)
    if configured:
        return configured
    return _generated_passwords(settings)[role.value]


def as_role(settings: Settings, role: Role) -> Settings:
    """The same warehouse, logged in as `role`."""
    return settings.with_overrides(pg_user=role.value, pg_password=password(settings, role))


def _set_passwords(conn: Connection, settings: Settings) -> None:
    for role in Role:
        verifier = encrypt_password(password(settings, role), role.value, conn, "scram-sha-256")
        statement = sql.SQL("alter role {} with login password {}").format(
            sql.Identifier(role.value), sql.Literal(verifier)
        )
        _alter_role(conn, statement)


@_retry_role_update
def _alter_role(conn: Connection, statement: sql.Composable) -> None:
    with conn, conn.cursor() as cur:
        cur.execute(statement)


def provision(settings: Settings) -> None:
    """As the superuser: database, schema, roles and grants (init.sql), role passwords.
    Idempotent, so every run starts with it."""
    conn = connect(settings)
    try:
        _retry_role_update(apply_schema)(conn)
        _set_passwords(conn, settings)
    except psycopg2.Error as exc:
        raise WarehouseError(
            f"cannot set up the warehouse roles as {settings.pg_user}: {first_line(exc)}"
        ) from None
    finally:
        conn.close()


def connect_as(settings: Settings, role: Role) -> Connection:
    """A connection as `role`, setting the warehouse up first when the role cannot log in yet
    (a new server or database): as the original single-user connect created the database."""
    role_settings = as_role(settings, role)
    try:
        return connect(role_settings)
    except WarehouseError:
        provision(settings)
        return connect(role_settings)
