"""The `offboard` command line on a SQLite file (SPEC §9): global options anywhere, --json
prints JSON only, errors carry their stable code, and the Done-when of the audit trail:
changing, deleting or reordering one stored event makes `audit verify` fail and name it."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys

import pytest

from offboard.cli.main import main
from offboard.domain.errors import OffboardError
from offboard.i18n import catalogue
from offboard.store import schema
from offboard.store.db import connect


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in ("OFFBOARD_DATABASE_URL", "OFFBOARD_TENANT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def cli(capsys):
    """Run `offboard ARGS` in process: (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture(scope="module")
def cli_template(tmp_path_factory) -> str:
    """Built once through the CLI itself: enterprise acme with boss (super admin), amy and bob,
    departments Sales (2) and Support (3)."""
    path = str(tmp_path_factory.mktemp("cli") / "template.db")
    for args in (
        ["db", "upgrade"],
        ["tenant", "create", "acme", "--name", "Acme", "--admin", "boss", "--admin-name", "Boss"],
        ["department", "add", "Sales"],
        ["department", "add", "Support"],
        ["member", "add", "amy", "--name", "Amy", "--department", "2", "--email", "amy@example.com"],
        ["member", "add", "bob", "--name", "Bob", "--department", "2,3"],
    ):
        with pytest.raises(SystemExit) as exc:
            main(["--db", path, *args])
        assert exc.value.code in (0, None), args
    return path  # every engine is disposed after a command, so the WAL is checkpointed into the file


@pytest.fixture
def db(cli_template, tmp_path) -> str:
    path = tmp_path / "cli.db"
    shutil.copy(cli_template, path)
    return str(path)


def _json(cli, *args):
    code, out, err = cli(*args)
    return code, json.loads(out), err  # the whole stdout is one JSON document


# --- global options, JSON output ------------------------------------------------------------------


@pytest.mark.parametrize(
    "layout",
    ["before", "after", "between", "equals"],
)
def test_spec_9_global_options_work_before_and_after_the_subcommand(cli, db, tmp_path, layout):
    # A second tenant makes --tenant necessary.
    assert cli("--db", db, "tenant", "create", "globex", "--name", "Globex", "--admin", "gina", "--admin-name", "Gina")[0] == 0
    args = {
        "before": ["--db", db, "--tenant", "acme", "member", "list", "--json"],
        "after": ["member", "list", "--json", "--db", db, "--tenant", "acme"],
        "between": ["member", "--tenant", "acme", "list", "--db", db, "--json"],
        "equals": ["member", "list", f"--db={db}", "--json", "--tenant=acme"],
    }[layout]
    code, data, _ = _json(cli, *args)
    assert code == 0
    assert sorted(m["userid"] for m in data["items"]) == ["amy", "bob", "boss"]


def test_tenant_is_required_when_several_exist(cli, db):
    assert cli("--db", db, "tenant", "create", "globex", "--name", "Globex", "--admin", "gina", "--admin-name", "Gina")[0] == 0
    code, data, _ = _json(cli, "member", "list", "--json", "--db", db)
    assert code != 0
    assert data["error"] == "tenant_required"
    code, data, _ = _json(cli, "member", "list", "--json", "--db", db, "--tenant", "globex")
    assert [m["userid"] for m in data["items"]] == ["gina"]


def test_spec_9_json_prints_json_only_on_every_read_command(cli, db):
    assert cli("--db", db, "token", "create", "--service", "--name", "sync", "--scope", "read_directory")[0] == 0
    code, tenants, _ = _json(cli, "--db", db, "tenant", "list", "--json")
    assert code == 0 and [t["slug"] for t in tenants] == ["acme"]
    code, members, _ = _json(cli, "--db", db, "member", "list", "--json")
    assert code == 0 and members["total"] == 3
    code, amy, _ = _json(cli, "--db", db, "member", "show", "amy", "--json")
    assert code == 0 and amy["email"] == "amy@example.com" and amy["departments"][0]["name"] == "Sales"
    code, depts, _ = _json(cli, "--db", db, "department", "list", "--json")
    assert code == 0 and {d["name"]: d["headcount"] for d in depts} == {"Acme": 3, "Sales": 2, "Support": 1}
    code, tokens, _ = _json(cli, "--db", db, "token", "list", "--json")
    assert code == 0 and [t["name"] for t in tokens] == ["sync"]
    code, verdict, _ = _json(cli, "--db", db, "audit", "verify", "--json")
    assert code == 0 and verdict["ok"] is True and verdict["first_bad_seq"] is None


def test_spec_9_error_with_json_is_code_and_message(cli, db):
    code, data, _ = _json(cli, "--db", db, "member", "show", "ghost", "--json")
    assert code != 0
    assert set(data) == {"error", "message"}
    assert data["error"] == "member_not_found"
    assert "ghost" in data["message"]


def test_error_without_json_names_the_code_on_stderr(cli, db):
    code, out, err = cli("--db", db, "member", "add", "amy", "--name", "Amy again")
    assert code != 0
    assert out == ""
    assert "duplicate_userid" in err


def test_bad_input_exits_2_and_a_conflict_exits_1(cli, db):
    assert cli("--db", db, "member", "add", "carl", "--name", "Carl", "--email", "carl@")[0] == 2  # 422
    assert cli("--db", db, "member", "role", "remove", "boss", "super_admin")[0] == 1  # 409 last_super_admin


# --- the schema and the database path ------------------------------------------------------------


def test_a_command_on_an_unmigrated_database_says_to_run_db_upgrade(cli, tmp_path):
    path = str(tmp_path / "empty.db")
    code, data, _ = _json(cli, "--db", path, "tenant", "list", "--json")
    assert code != 0
    assert data["error"] == "schema_missing"
    assert "offboard db upgrade" in data["message"]
    code, out, err = cli("--db", path, "member", "list")
    assert code != 0 and "schema_missing" in err and "offboard db upgrade" in err


def test_db_upgrade_twice_is_fine(cli, tmp_path):
    path = str(tmp_path / "twice.db")
    code, first, _ = _json(cli, "--db", path, "db", "upgrade", "--json")
    assert code == 0 and first["from"] is None and first["changed"] is True
    code, second, _ = _json(cli, "--db", path, "db", "upgrade", "--json")
    assert code == 0 and second["from"] == second["to"] == first["to"] and second["changed"] is False
    assert cli("--db", path, "db", "upgrade")[0] == 0


def test_a_database_path_in_a_missing_folder_is_refused(cli, tmp_path):
    path = str(tmp_path / "no" / "such" / "folder" / "x.db")
    code, data, _ = _json(cli, "--db", path, "tenant", "list", "--json")
    assert code != 0
    assert data["error"] == "database_path_invalid"
    code, _out, err = cli("--db", path, "db", "upgrade")
    assert code != 0 and "database_path_invalid" in err
    assert not (tmp_path / "no").exists()


def _offboard(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "OFFBOARD_")) or k == "OFFBOARD_KEY_FILE"}
    return subprocess.run(
        [sys.executable, "-c", "from offboard.cli.main import main; main()", *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_spec_9_lang_zh_cn_switches_messages_and_keeps_codes(tmp_path):
    # A fresh process, since the locale is read from the environment when the CLI starts.
    path = str(tmp_path / "empty.db")
    zh = _offboard("--db", path, "tenant", "list", "--json", env={"LANG": "zh_CN.UTF-8"})
    data = json.loads(zh.stdout)
    assert zh.returncode != 0
    assert data["error"] == "schema_missing"  # codes are language-neutral
    assert data["message"]
    assert "offboard db upgrade" in data["message"]  # commands are not translated
    # It is the zh-CN rendering of the same error, once the catalogue translates it.
    db = connect(path)
    with pytest.raises(OffboardError) as exc:
        schema.check(db)
    db.dispose()
    if catalogue("zh-CN").get(exc.value.template):
        assert data["message"] == exc.value.render("zh-CN") != exc.value.render("en")


# --- Done-when: tampering with one stored event is found and named ------------------------------


def _tamper(db: str, *statements: str) -> None:
    # Plain sqlite3, as someone editing the file would: no foreign key enforcement.
    conn = sqlite3.connect(db)
    with conn:
        for sql in statements:
            conn.execute(sql)
    conn.close()


def _head(db: str) -> int:
    conn = sqlite3.connect(db)
    (seq,) = conn.execute("SELECT audit_seq FROM tenants WHERE slug = 'acme'").fetchone()
    conn.close()
    return seq


def _verify_fails_naming(cli, db: str, seq: int) -> dict:
    code, verdict, _ = _json(cli, "--db", db, "audit", "verify", "--json")
    assert code != 0
    assert verdict["ok"] is False
    assert verdict["first_bad_seq"] == seq, verdict
    code, out, _ = cli("--db", db, "audit", "verify")
    assert code != 0
    assert re.search(rf"\b{seq}\b", out), out
    return verdict


@pytest.mark.parametrize("k", [1, 4, "last"])
def test_done_when_a_changed_audit_row_is_named(cli, db, k):
    k = _head(db) if k == "last" else k
    _tamper(db, f"UPDATE audit_events SET action = 'member.erased' WHERE seq = {k}")
    assert _verify_fails_naming(cli, db, k)["problem"] == "changed"


def test_done_when_a_changed_side_record_is_named(cli, db):
    _tamper(db, """UPDATE audit_side SET details = '{"userid": "mallory"}' WHERE seq = 5""")
    assert _verify_fails_naming(cli, db, 5)["problem"] == "side_changed"


def test_done_when_deleting_the_last_audit_row_is_named(cli, db):
    last = _head(db)
    _tamper(db, f"DELETE FROM audit_events WHERE seq = {last}")
    assert _verify_fails_naming(cli, db, last)["problem"] == "truncated"


def test_done_when_deleting_the_last_row_with_its_side_record_is_named(cli, db):
    last = _head(db)
    _tamper(db, f"DELETE FROM audit_side WHERE seq = {last}", f"DELETE FROM audit_events WHERE seq = {last}")
    assert _verify_fails_naming(cli, db, last)["problem"] == "truncated"


def test_done_when_deleting_a_middle_audit_row_is_named(cli, db):
    _tamper(db, "DELETE FROM audit_side WHERE seq = 3", "DELETE FROM audit_events WHERE seq = 3")
    assert _verify_fails_naming(cli, db, 3)["problem"] == "missing"


@pytest.mark.parametrize("k", [2, 5])
def test_done_when_swapping_two_audit_rows_is_named(cli, db, k):
    _tamper(
        db,
        f"UPDATE audit_events SET seq = -1 WHERE seq = {k}",
        f"UPDATE audit_events SET seq = {k} WHERE seq = {k + 1}",
        f"UPDATE audit_events SET seq = {k + 1} WHERE seq = -1",
    )
    assert _verify_fails_naming(cli, db, k)["problem"] == "reordered"


def test_done_when_an_untouched_chain_verifies(cli, db):
    code, verdict, _ = _json(cli, "--db", db, "audit", "verify", "--json")
    assert code == 0 and verdict["ok"] and verdict["events"] == _head(db)


# --- tokens ----------------------------------------------------------------------------------


def test_token_create_prints_the_token_once_and_list_never_shows_it(cli, db):
    code, out, _ = cli("--db", db, "token", "create", "--service", "--name", "hr-sync", "--scope", "plan")
    assert code == 0
    tokens = re.findall(r"obt_\S+", out)
    assert len(tokens) == 1
    token = tokens[0]
    secret = token.split("_", 3)[3]  # obt_<tenant>_<prefix>_<secret>; the secret may itself hold "_"
    for args in (("token", "list"), ("token", "list", "--json"), ("audit", "list", "--json")):
        code, listing, _ = cli("--db", db, *args)
        assert code == 0
        assert secret not in listing and token not in listing
    with open(db, "rb") as fh:  # nor is it stored: only its digest
        assert secret.encode() not in fh.read()


def test_token_create_json_carries_the_token_once(cli, db):
    code, created, _ = _json(cli, "--db", db, "token", "create", "--service", "--scope", "read_directory", "--json")
    assert code == 0 and created["token"].startswith("obt_")
    code, tokens, _ = _json(cli, "--db", db, "token", "list", "--json")
    assert all("token" not in t for t in tokens)
    assert created["token"] not in json.dumps(tokens)


def test_revoking_a_token_works_and_revoking_twice_is_token_revoked(cli, db):
    code, created, _ = _json(cli, "--db", db, "token", "create", "--service", "--scope", "read_directory", "--json")
    assert cli("--db", db, "token", "revoke", str(created["id"]))[0] == 0
    code, tokens, _ = _json(cli, "--db", db, "token", "list", "--json")
    assert tokens[0]["revoked_at"] is not None
    code, out, err = cli("--db", db, "token", "revoke", str(created["id"]))
    assert code != 0
    assert "token_revoked" in err
    code, out, err = cli("--db", db, "token", "revoke", "999")
    assert code != 0 and "token_not_found" in err
    code, verdict, _ = _json(cli, "--db", db, "audit", "verify", "--json")
    assert verdict["ok"]


def test_spec_7_a_tenant_adds_a_checklist_item_from_the_cli(tmp_path, capsys):
    """`offboard checklist-item add` puts an attested item on every exit's checklist."""
    from offboard.cli.main import main

    db = str(tmp_path / "items.db")
    for args in (["db", "upgrade"], ["tenant", "create", "acme", "--name", "Acme", "--admin", "boss", "--admin-name", "Boss"]):
        with pytest.raises(SystemExit) as done:
            main(["--db", db, *args])
        assert done.value.code in (0, None)
    with pytest.raises(SystemExit) as done:
        main(["--db", db, "checklist-item", "add", "badge_returned", "--title", "工牌已归还", "--owner", "hr"])
    assert done.value.code in (0, None)
    with pytest.raises(SystemExit) as done:
        main(["--db", db, "checklist-item", "add", "documents", "--title", "x", "--owner", "hr"])
    assert done.value.code == 2  # a built-in key is refused as invalid input
    assert "invalid_item_key" in capsys.readouterr().err


def test_issue_8_token_create_without_a_scope_is_refused_with_the_scopes_to_choose_from(cli, db):
    code, data, _ = _json(cli, "--db", db, "token", "create", "--service", "--json")
    assert code != 0 and data["error"] == "scopes_required"
    assert "read_directory" in data["message"] and "attest_hr" in data["message"]
    code, out, _ = cli("--db", db, "token", "create", "--help")
    assert code == 0 and "manage_directory" in out
    code, tokens, _ = _json(cli, "--db", db, "token", "list", "--json")
    assert tokens == []


def test_issue_9_audit_list_filters_by_member_and_tells_each_event_in_words(cli, db):
    code, events, _ = _json(cli, "--db", db, "audit", "list", "--member", "bob", "--json")
    assert code == 0 and events
    assert all(any(t["userid"] == "bob" for t in e["target_parties"]) for e in events)
    assert "The operator added Bob to the directory" in {e["sentence"] for e in events}
    code, refusal, _ = _json(cli, "--db", db, "audit", "list", "--from", "2026-13-01", "--json")
    assert code != 0 and refusal["error"] == "invalid_date"
