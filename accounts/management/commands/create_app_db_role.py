"""Create (or bring up to date) the least-privilege PostgreSQL role the app runs as.

Run it as the database owner (the role that runs migrations), after ``migrate``. It is idempotent:
run it after every ``migrate`` so tables added by new migrations get the right grants.
"""

import os

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from psycopg import sql

# Append-only for the app: rows are added, never changed or removed.
APPEND_ONLY_TABLES = ["inventory_devicemovement", "inventory_kitmovement",
                      "accounts_patientaccess", "inventory_ledgerkeyrotation"]
READ_ONLY_TABLES = ["django_migrations"]


class Command(BaseCommand):
    help = (
        "Create or update the PostgreSQL role the app connects as: it owns nothing, may read and "
        "write rows, and may not UPDATE, DELETE or TRUNCATE the ledger (nor alter any table)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--role", default="fieldstock_app", help="Role name.")
        parser.add_argument(
            "--password",
            default=os.environ.get("APP_DB_PASSWORD", ""),
            help="Login password (default: $APP_DB_PASSWORD; empty keeps the current one).",
        )

    def handle(self, *args, role, password, **options):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT current_user, current_database()")
            owner, database = cursor.fetchone()
            if role == owner:
                raise CommandError(
                    f"{role} is the role running this command (the owner); choose another name."
                )
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            exists = cursor.fetchone() is not None
            r = sql.Identifier(role)
            verb = "ALTER" if exists else "CREATE"
            statement = sql.SQL(
                "{verb} ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
                "NOBYPASSRLS"
            ).format(verb=sql.SQL(verb), role=r)
            if password:
                statement += sql.SQL(" PASSWORD {}").format(sql.Literal(password))
            cursor.execute(statement)
            if exists:
                cursor.execute(
                    "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
                    "WHERE r.rolname = %s", [role]
                )
                if cursor.fetchone()[0]:
                    raise CommandError(f"{role} owns tables or sequences; it must own nothing.")
                cursor.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", [role, owner])
                if cursor.fetchone()[0]:
                    raise CommandError(
                        f"{role} is a member of {owner} and would inherit its rights."
                    )
            for statement, params in [
                ("GRANT CONNECT ON DATABASE {db} TO {role}", {"db": sql.Identifier(database)}),
                ("GRANT USAGE ON SCHEMA public TO {role}", {}),
                ("REVOKE CREATE ON SCHEMA public FROM {role}", {}),
                ("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}", {}),
                ("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
                 {}),
                ("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}", {}),
                ("ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
                 "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
                 {"owner": sql.Identifier(owner)}),
                ("ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
                 "GRANT USAGE, SELECT ON SEQUENCES TO {role}", {"owner": sql.Identifier(owner)}),
                *[("REVOKE UPDATE, DELETE ON {table} FROM {role}", {"table": sql.Identifier(t)})
                  for t in APPEND_ONLY_TABLES],
                *[("REVOKE INSERT, UPDATE, DELETE ON {table} FROM {role}",
                   {"table": sql.Identifier(t)}) for t in READ_ONLY_TABLES],
            ]:
                cursor.execute(sql.SQL(statement).format(role=r, **params))
        self.stdout.write(self.style.SUCCESS(
            f"Role {role} {'updated' if exists else 'created'} in {database}: reads and writes "
            f"rows, owns nothing; {', '.join(APPEND_ONLY_TABLES)} are append-only for it."
        ))
