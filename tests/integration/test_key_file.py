"""The local key-file vault beyond the shared contract (tests/integration/test_contracts.py):
when the file is made and with which mode, what it refuses, and processes sharing it."""

from __future__ import annotations

import json
import os
import shutil
import stat
import threading
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from offboard.bootstrap import build
from offboard.crypto.vault import LocalKeyVault, key_file_path
from offboard.interfaces import KeyVaultError
from offboard.webhooks.sender import HttpWebhookSender
from tests.support.clock import FakeClock

DATA_KEY = os.urandom(32)
AD = b"tenant=1|member=7"


def _code(fn, *args) -> str:
    with pytest.raises(KeyVaultError) as refusal:
        fn(*args)
    return refusal.value.code


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_key_file_is_made_on_the_first_wrap_with_mode_0600_whatever_the_umask(tmp_path):
    path = tmp_path / "offboard.keys"
    vault = LocalKeyVault(path)
    assert not path.exists()
    old = os.umask(0)
    try:
        wrapped = vault.wrap("cn", DATA_KEY, AD)
    finally:
        os.umask(old)
    assert _mode(path) == 0o600
    vault.new_key("cn")  # a rewrite keeps the mode
    assert _mode(path) == 0o600
    assert DATA_KEY.hex() not in path.read_text() and wrapped.key_id in path.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["offboard.keys", "offboard.keys.lock"]


def test_unwrapping_without_the_key_file_is_refused_and_makes_no_file(tmp_path):
    path = tmp_path / "offboard.keys"
    wrapped = LocalKeyVault(path).wrap("cn", DATA_KEY, AD)
    path.unlink()
    vault = LocalKeyVault(path)
    assert _code(vault.unwrap, wrapped, AD) == "key_file_missing"
    assert _code(vault.rotate, wrapped, AD) == "key_file_missing"
    assert not path.exists()


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_a_key_file_others_can_read_is_refused(tmp_path, mode):
    path = tmp_path / "offboard.keys"
    wrapped = LocalKeyVault(path).wrap("cn", DATA_KEY, AD)
    before = path.read_bytes()
    path.chmod(mode)
    vault = LocalKeyVault(path)
    for call, args in ((vault.unwrap, (wrapped, AD)), (vault.wrap, ("cn", DATA_KEY, AD)), (vault.new_key, ("cn",))):
        with pytest.raises(KeyVaultError) as refusal:
            call(*args)
        assert refusal.value.code == "key_file_mode" and "chmod 600" in str(refusal.value)
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\x01not json",
        b"[]",
        json.dumps({"format": "something-else/1", "keys": []}).encode(),
        json.dumps({"format": "offboard-keys/1", "keys": [{"id": "cn.v1.ab", "region": "cn", "version": 1, "key": "c2hvcnQ="}]}).encode(),
        json.dumps({"format": "offboard-keys/1", "keys": [{"id": "xx.v1.ab", "region": "mars", "version": 1, "key": "A" * 44}]}).encode(),
        json.dumps({"format": "offboard-keys/1", "keys": [{"id": "cn.v1.ab"}]}).encode(),
    ],
)
def test_a_garbled_key_file_is_refused_and_left_as_it_is(tmp_path, content):
    path = tmp_path / "offboard.keys"
    path.write_bytes(content)
    path.chmod(0o600)
    vault = LocalKeyVault(path)
    assert _code(vault.wrap, "cn", DATA_KEY, AD) == "key_file_invalid"
    assert path.read_bytes() == content


def test_a_key_file_that_cannot_be_read_or_written_is_refused(tmp_path):
    (tmp_path / "a-file").write_text("")
    unreadable = LocalKeyVault(tmp_path / "a-file" / "offboard.keys")  # a path through a file
    assert _code(unreadable.wrap, "cn", DATA_KEY, AD) == "key_file_unreadable"
    unwritable = LocalKeyVault(tmp_path / "no-such-folder" / "offboard.keys")
    assert _code(unwritable.wrap, "cn", DATA_KEY, AD) == "key_file_unwritable"
    (tmp_path / "a-folder.keys").mkdir()
    assert _code(LocalKeyVault(tmp_path / "a-folder.keys").wrap, "cn", DATA_KEY, AD) == "key_file_invalid"


def test_another_key_file_is_refused(tmp_path):
    ours, theirs = tmp_path / "ours.keys", tmp_path / "theirs.keys"
    wrapped = LocalKeyVault(ours).wrap("cn", DATA_KEY, AD)
    LocalKeyVault(theirs).wrap("cn", DATA_KEY, AD)
    shutil.copy(theirs, ours)  # the wrong backup restored
    assert _code(LocalKeyVault(ours).unwrap, wrapped, AD) == "key_unknown"
    document = json.loads(theirs.read_text())
    document["keys"][0]["id"] = wrapped.key_id  # the right id over another key
    ours.write_text(json.dumps(document))
    assert _code(LocalKeyVault(ours).unwrap, wrapped, AD) == "key_unwrap_failed"


def test_vaults_sharing_a_key_file_see_each_others_keys(tmp_path):
    path = tmp_path / "offboard.keys"
    api, operator = LocalKeyVault(path), LocalKeyVault(path)
    before = api.wrap("cn", DATA_KEY, AD)
    newest = operator.new_key("cn")  # `offboard keys rotate` in another process
    assert api.wrap("cn", DATA_KEY, AD).key_id == newest
    assert api.unwrap(operator.rotate(before, AD), AD) == DATA_KEY


def test_racing_first_wraps_make_one_key_per_region(tmp_path):
    path = tmp_path / "offboard.keys"
    barrier, ids = threading.Barrier(8), []

    def first_wrap() -> None:
        vault = LocalKeyVault(path)
        barrier.wait()
        ids.append(vault.wrap("eu", DATA_KEY, AD).key_id)

    threads = [threading.Thread(target=first_wrap) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 8 and len(set(ids)) == 1
    assert [k["id"] for k in json.loads(path.read_text())["keys"]] == ids[:1]


def test_the_key_file_path_setting(tmp_path):
    assert key_file_path(make_url(f"sqlite:///{tmp_path}/x.db"), {}) == tmp_path / "x.db.keys"
    assert key_file_path(make_url("postgresql+psycopg://postgres@127.0.0.1/offboard"), {}) == Path.cwd() / "offboard.keys"
    assert key_file_path(make_url("postgresql+psycopg://postgres@127.0.0.1/offboard"), {"OFFBOARD_KEY_FILE": "~/k.json"}) == Path.home() / "k.json"


def test_building_the_services_makes_no_key_file(tmp_path, sqlite_template, monkeypatch):
    db = tmp_path / "offboard.db"
    shutil.copy(sqlite_template, db)
    monkeypatch.delenv("OFFBOARD_KEY_FILE", raising=False)
    clock = FakeClock()
    services = build(str(db), clock=clock)
    try:
        assert isinstance(services.vault, LocalKeyVault) and services.vault.path == tmp_path / "offboard.db.keys"
        assert isinstance(services.webhooks, HttpWebhookSender) and services.webhooks.clock is clock
        assert services.connectors == ()
    finally:
        services.db.dispose()
    monkeypatch.setenv("OFFBOARD_KEY_FILE", str(tmp_path / "elsewhere.keys"))
    services = build(str(db))
    services.db.dispose()
    assert services.vault.path == tmp_path / "elsewhere.keys"
    assert sorted(p.name for p in tmp_path.iterdir() if "keys" in p.name) == []
