"""Print pgbouncer.ini for scripts/serve-prod: transaction pooling in front of DATABASE_URL.

Environment: DATABASE_URL (the app role's), PGBOUNCER_PORT, PGBOUNCER_POOL_SIZE, PGB_DIR (its
log and pid file), WORK_MEM (each server connection's work_mem; empty keeps the server's). pgbouncer
listens on 127.0.0.1 only and logs into the server as the app role (auth_type any: only
processes on this machine reach it)."""

import os
from urllib.parse import unquote, urlsplit

url = urlsplit(os.environ["DATABASE_URL"])
run = os.environ["PGB_DIR"]
server = (
    f"host={unquote(url.hostname or '127.0.0.1')} port={url.port or 5432} "
    f"dbname={url.path.lstrip('/')} user={unquote(url.username or '')}"
)
if url.password:
    server += f" password={unquote(url.password)}"
if os.environ.get("WORK_MEM"):
    server += f" connect_query='SET work_mem = ''{os.environ['WORK_MEM']}'''"
print(f"""[databases]
fieldstock = {server}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {os.environ["PGBOUNCER_PORT"]}
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = {os.environ["PGBOUNCER_POOL_SIZE"]}
max_client_conn = 500
ignore_startup_parameters = extra_float_digits
logfile = {run}/pgbouncer.log
pidfile = {run}/pgbouncer.pid""")
