#!/usr/bin/env python3
"""Applies every migration in schemas/clickhouse/ to a current ClickHouse engine
(26.x, in-process through chdb) and checks each table's sorting key, so the DDL that
runs on the local 18.16 server is known to run on current releases too; then runs
every ClickHouse query of the Grafana dashboards (macros and variables expanded) on
that engine. (The tests run the same queries, with rows, on the local 18.16 server.)
The cluster form of the schema (`wowlogs migrate --clickhouse-cluster wowlogs --print`:
replicated and Distributed tables, ON CLUSTER) cannot run without a cluster here: each
of its statements is parsed by that engine (`formatQuery`) instead; cli/tests/cluster.rs
runs it on a real 18.16 cluster.

Usage: python3 deploy/checks/clickhouse_ddl_current.py   (needs: pip install chdb-core)
Prints one 'N passed, M failed' line; exits non-zero on any failure.
"""
import json
import pathlib
import re
import subprocess
import sys
import tempfile
import urllib.parse

from chdb import session as chs

root = pathlib.Path(__file__).resolve().parents[2]
migrations = sorted((root / "schemas" / "clickhouse").glob("[0-9][0-9][0-9][0-9]_*.sql"))
passed = failed = 0


def attempt(where, statement, run):
    """Runs one statement (`run(statement)`), counting it passed or failed."""
    global passed, failed
    try:
        run(statement)
        passed += 1
    except Exception as error:  # noqa: BLE001 - report every failing statement
        failed += 1
        print(f"FAIL {where}: {statement[:90]}...: {error}", file=sys.stderr)


def parsed(db):
    """Parses a statement on the engine (formatQuery) without running it."""
    return lambda statement: db.query(
        "SELECT formatQuery('" + statement.replace("\\", "\\\\").replace("'", "\\'") + "')", "CSV")

with tempfile.TemporaryDirectory() as data:
    db = chs.Session(data)
    version = db.query("SELECT version()", "CSV").bytes().decode().strip()
    db.query("CREATE DATABASE IF NOT EXISTS wowlogs")
    for migration in migrations:
        sql = re.sub(r"--[^\n]*", "", migration.read_text())
        for statement in (s.strip() for s in sql.split(";")):
            if not statement:
                continue
            try:
                db.query("USE wowlogs")
                db.query(statement)
                passed += 1
            except Exception as error:  # noqa: BLE001 - report every failing statement
                failed += 1
                print(f"FAIL {migration.name}: {statement[:70]}...: {error}", file=sys.stderr)
    # Each rollback step (schemas/clickhouse/down/NNNN_name.sql, `wowlogs migrate --to`):
    # a database migrated up to that migration, then undone, has the columns of one
    # migrated only to the migration before (as platform/store/tests/migrations.rs checks
    # on 18.16).
    def statements_of(path):
        return [s.strip() for s in re.sub(r"--[^\n]*", "", path.read_text()).split(";") if s.strip()]

    def columns(database):
        return db.query(
            f"SELECT table, name, type FROM system.columns WHERE database = '{database}' ORDER BY table, name",
            "CSV").bytes().decode()

    downs = sorted((root / "schemas" / "clickhouse" / "down").glob("[0-9][0-9][0-9][0-9]_*.sql"))
    for down in downs:
        number = int(down.name[:4])
        for database, upto in ((f"down_{number}", number), (f"before_{number}", number - 1)):
            db.query(f"CREATE DATABASE IF NOT EXISTS {database}")
            for migration in migrations[:upto]:
                for statement in statements_of(migration):
                    db.query(f"USE {database}")
                    db.query(statement)
        for statement in statements_of(down):
            db.query(f"USE down_{number}")
            attempt(down.name, statement, db.query)
        if columns(f"down_{number}") == columns(f"before_{number}"):
            passed += 1
        else:
            failed += 1
            print(f"FAIL {down.name}: the columns differ from those before the migration", file=sys.stderr)
    keys = db.query(
        "SELECT name, sorting_key FROM system.tables WHERE database = 'wowlogs' AND engine != 'View'", "CSV"
    ).bytes().decode().strip().splitlines()
    for line in keys:
        name, key = [part.strip('"') for part in line.split(",", 1)]
        if key.startswith("guild_id"):
            passed += 1
        else:
            failed += 1
            print(f"FAIL {name}: sorting key {key} does not lead with guild_id", file=sys.stderr)
    # One log whose timestamps span more than 100 months: current ClickHouse refuses one
    # INSERT touching more partitions than max_partitions_per_insert_block (100), with the
    # message the consumers classify as permanent (platform/store/src/errors.rs: the batch
    # is then halved until each INSERT fits); 18.16 has no such limit.
    months = [f"toDateTime('2004-01-01 00:00:00', 'UTC') + toIntervalMonth({m})" for m in range(150)]
    rows = ", ".join(f"(7, 1, {i}, {month}, 0, 'SPELL_DAMAGE')" for i, month in enumerate(months))
    insert = "INSERT INTO combat_events (guild_id, log_id, line, timestamp, timestamp_ms, event_type) VALUES "
    try:
        db.query("USE wowlogs")
        db.query(insert + rows)
        failed += 1
        print("FAIL partitions: an INSERT over 150 months was accepted", file=sys.stderr)
    except Exception as error:  # noqa: BLE001 - the refusal is the expected outcome
        if "Too many partitions for single INSERT block" in str(error):
            passed += 1
        else:
            failed += 1
            print(f"FAIL partitions: refused with another message: {error}", file=sys.stderr)
    halves = [months[:75], months[75:]]
    try:
        for half in halves:
            db.query(insert + ", ".join(f"(7, 1, {i}, {m}, 0, 'SPELL_DAMAGE')" for i, m in enumerate(half)))
        passed += 1
    except Exception as error:  # noqa: BLE001
        failed += 1
        print(f"FAIL partitions: the halves were refused too: {error}", file=sys.stderr)
    # The analysts' relations (wowlogs_store::analytics), as `wowlogs migrate` creates
    # them after the migrations; the dashboards read them.
    printed_single = subprocess.run(
        ["cargo", "run", "--quiet", "--locked", "-p", "wowlogs-cli", "--", "migrate", "--print", "--database", "wowlogs"],
        cwd=root, check=True, capture_output=True, text=True,
    ).stdout
    for statement in (s.strip() for s in printed_single.split(";\n\n")):
        if "wowlogs_analytics" in statement:
            attempt("analytics", statement, db.query)
    # A guild's access on a current server (`wowlogs grafana grant --print-sql`: its
    # database's views, CREATE USER, GRANTs, the row policy): the views run here, the
    # access statements are parsed (chdb has no writable access storage to run them).
    printed_grant = subprocess.run(
        ["cargo", "run", "--quiet", "--locked", "-p", "wowlogs-cli", "--", "grafana", "grant", "--guild", "7",
         "--password-file", "/dev/stdin", "--print-sql", "--database", "wowlogs"],
        cwd=root, check=True, capture_output=True, text=True, input="analyst-password\n",
    ).stdout
    grant_statements = [s.strip() for s in printed_grant.split(";\n\n") if s.strip()]
    for statement in grant_statements:
        runs_here = statement.startswith(("CREATE DATABASE", "DROP TABLE", "CREATE VIEW"))
        attempt("guild access", statement, db.query if runs_here else parsed(db))
    # The same access in cluster mode (ON CLUSTER, grants and the row policy on the
    # shard-local tables too), parsed.
    printed_cluster_grant = subprocess.run(
        ["cargo", "run", "--quiet", "--locked", "-p", "wowlogs-cli", "--", "grafana", "grant", "--guild", "7",
         "--password-file", "/dev/stdin", "--print-sql", "--database", "wowlogs", "--clickhouse-cluster", "wowlogs"],
        cwd=root, check=True, capture_output=True, text=True, input="analyst-password\n",
    ).stdout
    cluster_grant_statements = [s.strip() for s in printed_cluster_grant.split(";\n\n") if s.strip()]
    if not any("_local" in s and s.startswith("CREATE ROW POLICY") for s in cluster_grant_statements):
        failed += 1
        print("FAIL cluster guild access: no row policy on the shard-local tables", file=sys.stderr)
    for statement in cluster_grant_statements:
        attempt("cluster guild access", statement, parsed(db))
    grant_statements += cluster_grant_statements
    # The dashboards' queries: the plugin's macros over a fixed range, sample variables.
    dashboards = sorted((root / "grafana" / "dashboards").glob("*.json"))
    queries = 0
    variables = {"guild": "1", "zone": "UTC", "boss": "Mekgineer Thermaplugg", "difficulty": "-1", "action": ".*", "request_id": ""}

    def expand(sql):
        sql = re.sub(r"\$__dateFilter\(([^)]*)\)", r"\1 >= toDate('2000-01-01') AND \1 <= toDate('2100-01-01')", sql)
        sql = re.sub(r"\$__timeFilter\(([^)]*)\)", r"\1 >= toDateTime(946684800) AND \1 <= toDateTime(4102444800)", sql)
        sql = re.sub(r"\$__timeInterval\(([^)]*)\)", r"toStartOfInterval(toDateTime(\1), INTERVAL 3600 second)", sql)
        for name, value in variables.items():
            sql = sql.replace("${%s:sqlstring}" % name, "'" + value.replace("'", "''") + "'")
            sql = sql.replace("${%s:percentencode}" % name, urllib.parse.quote(value, safe="-_.~"))
            sql = sql.replace("${%s}" % name, value).replace("$" + name, value)
        return sql

    for board_path in dashboards:
        board = json.loads(board_path.read_text())
        panels = list(board.get("panels", []))
        panels += [p for row in board.get("panels", []) for p in row.get("panels", [])]
        sqls = [(f"variable {v['name']}", v["query"]) for v in board["templating"]["list"]
                if v.get("datasource", {}).get("uid") == "clickhouse"]
        sqls += [(f"panel {p['title']}", t["rawSql"]) for p in panels for t in p.get("targets", [])
                 if t.get("datasource", {}).get("uid") == "clickhouse"]
        for where, sql in sqls:
            queries += 1
            try:
                db.query("USE wowlogs_analytics")
                db.query(expand(sql), "CSV")
                passed += 1
            except Exception as error:  # noqa: BLE001 - report every failing query
                failed += 1
                print(f"FAIL {board_path.name} {where}: {error}", file=sys.stderr)
    # The cluster form, parsed.
    printed = subprocess.run(
        ["cargo", "run", "--quiet", "--locked", "-p", "wowlogs-cli", "--", "migrate", "--print",
         "--clickhouse-cluster", "wowlogs", "--database", "wowlogs"],
        cwd=root, check=True, capture_output=True, text=True,
    ).stdout
    cluster_statements = [s.strip() for s in printed.split(";\n\n") if s.strip()]
    for statement in cluster_statements:
        attempt("cluster DDL", statement, parsed(db))
print(f"ClickHouse {version} (chdb): {len(migrations)} migrations, {len(downs)} rollback steps, {len(keys)} tables, {queries} dashboard queries, "
      f"{len(cluster_statements)} cluster statements parsed, {len(grant_statements)} guild access statements")
print(f"ddl: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
