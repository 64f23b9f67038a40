"""SPEC §8: the audit events are the leaves of a Merkle tree whose head is signed as a C2SP
checkpoint every hour and right after a privileged event (the reconciler); inclusion and
consistency proofs verify with the public key alone; `audit verify` names a changed tree node or
checkpoint; an export verifies offline and fails with any byte changed. SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, update

from offboard.actions import audit_checkpoints
from offboard.actions import freeze as freeze_actions
from offboard.actions import members as member_actions
from offboard.actions.context import tenant_read, tenant_transaction
from offboard.audit import merkle, note
from offboard.audit.note import Checkpoint, Verifier
from offboard.audit.offline import verify_export
from offboard.jobs import reconciler
from offboard.queries import audit as audit_q
from offboard.queries import audit_proofs
from offboard.store.tables import audit_checkpoints as checkpoints_table
from offboard.store.tables import audit_events, audit_tree_nodes, outbox
from tests.support.exits import make_company


def _sign(company, reason: str = "requested"):
    with tenant_transaction(company.services, company.slug) as uow:
        return audit_checkpoints.checkpoint(uow, company.services.vault, reason)


def _key(company) -> Verifier:
    with tenant_transaction(company.services, company.slug) as uow:
        return Verifier.parse(audit_checkpoints.verifier_key(uow, company.services.vault))


def _leaves(company) -> list[bytes]:
    with company.services.db.read() as conn:
        rows = conn.execute(select(audit_events.c.hash).where(audit_events.c.tenant_id == company.tenant_id).order_by(audit_events.c.seq)).scalars()
        return [bytes.fromhex(h) for h in rows]


def _add_members(company, n: int, start: int = 0) -> None:
    with tenant_transaction(company.services, company.slug) as uow:
        for i in range(start, start + n):
            member_actions.add_member(uow, userid=f"extra{i}", name=f"Extra {i}", department_ids=[company.departments["Sales"]])


def test_spec_8_checkpoints_grow_the_tree_and_sign_its_root(services):
    company = make_company(services, per_kind=1)
    first = _sign(company)
    leaves = _leaves(company)
    assert first.size == len(leaves) and first.root == merkle.root_of(leaves)
    text, names = note.open_note(first.note, [_key(company)])
    assert Checkpoint.parse(text) == Checkpoint("offboard/acme/audit", first.size, first.root) and names == ["offboard/acme/audit"]
    assert _sign(company).size == first.size  # nothing new: the same checkpoint
    for step in range(3):  # the tree grows in steps of odd sizes and stays the tree of every leaf
        _add_members(company, 5 + 2 * step, start=10 * step)
        signed = _sign(company)
        assert signed.root == merkle.root_of(_leaves(company)) and signed.size == len(_leaves(company))
    with services.db.read() as conn:
        topics = list(conn.execute(select(outbox.c.topic).where(outbox.c.tenant_id == company.tenant_id, outbox.c.topic == "audit.checkpoint")).scalars())
        assert len(topics) == 4  # each new checkpoint can be pushed off the host
        tenant = conn.execute(select(audit_events.c.tenant_id).limit(1)).scalar()
        assert tenant == company.tenant_id
    with tenant_read(services, company.slug) as (conn, tenant, actor):
        verdict = audit_q.verify_chain(conn, tenant, actor)
    assert verdict.ok and verdict.checkpoints == 4 and verdict.signed_size == signed.size


def test_spec_8_every_event_has_an_inclusion_proof_and_old_trees_a_consistency_proof(services):
    company = make_company(services, per_kind=1)
    old = _sign(company)
    _add_members(company, 7)
    new = _sign(company)
    key = _key(company)
    with tenant_read(services, company.slug) as (conn, tenant, actor):
        for seq in range(1, new.size + 1):
            proof = audit_proofs.inclusion(conn, tenant, actor, seq, new)
            text, _ = note.open_note(proof.checkpoint, [key])
            root = Checkpoint.parse(text).root
            leaf = base64.b64decode(proof.leaf_hash)
            assert merkle.leaf_hash(proof.core.encode()) == leaf  # the core an auditor hashes themself
            assert merkle.verify_inclusion(proof.leaf_index, proof.tree_size, leaf, [base64.b64decode(p) for p in proof.proof], root), seq
        consistency = audit_proofs.consistency(conn, tenant, actor, old.size, new)
    assert consistency.old_checkpoint == old.note
    assert merkle.verify_consistency(old.size, new.size, old.root, new.root, [base64.b64decode(p) for p in consistency.proof])
    assert not merkle.verify_consistency(old.size, new.size, merkle.leaf_hash(b"another past"), new.root, [base64.b64decode(p) for p in consistency.proof])


def test_spec_8_a_changed_tree_node_or_checkpoint_is_named_by_audit_verify(services):
    company = make_company(services, per_kind=1)
    _sign(company)
    _add_members(company, 3)
    signed = _sign(company)

    def verdict():
        with tenant_read(services, company.slug) as (conn, tenant, actor):
            return audit_q.verify_chain(conn, tenant, actor)

    with services.db.write() as conn:
        node = conn.execute(select(audit_tree_nodes).where(audit_tree_nodes.c.tenant_id == company.tenant_id, audit_tree_nodes.c.level == 2).order_by(audit_tree_nodes.c.idx).limit(1)).one()
        conn.execute(update(audit_tree_nodes).where(audit_tree_nodes.c.tenant_id == company.tenant_id, audit_tree_nodes.c.level == 2, audit_tree_nodes.c.idx == node.idx).values(hash="00" * 32))
    bad = verdict()
    assert (bad.ok, bad.problem, bad.first_bad_seq) == (False, "tree_changed", (node.idx << 2) + 1)
    with services.db.write() as conn:
        conn.execute(update(audit_tree_nodes).where(audit_tree_nodes.c.tenant_id == company.tenant_id, audit_tree_nodes.c.level == 2, audit_tree_nodes.c.idx == node.idx).values(hash=node.hash))
        forged = signed.note.replace(f"\n{signed.size}\n", f"\n{signed.size - 1}\n")
        conn.execute(update(checkpoints_table).where(checkpoints_table.c.tenant_id == company.tenant_id, checkpoints_table.c.size == signed.size).values(note=forged))
    bad = verdict()
    assert (bad.ok, bad.problem, bad.bad_checkpoint) == (False, "checkpoint_changed", signed.size)


def test_spec_8_the_reconciler_signs_hourly_and_right_after_a_privileged_event(services, clock):
    company = make_company(services, per_kind=1)
    first = reconciler.reconcile(services)
    assert first.checkpoints == 1 and first.failed == []
    _add_members(company, 2)
    assert reconciler.reconcile(services).checkpoints == 0  # within the hour, nothing privileged
    with tenant_transaction(services, company.slug, "ivan") as uow:
        freeze_actions.freeze(uow, "extra0", reason="laptop stolen")
    assert reconciler.reconcile(services).checkpoints == 1  # a freeze is signed at once
    _add_members(company, 1, start=5)
    clock.advance(hours=1, seconds=1)
    assert reconciler.reconcile(services).checkpoints == 1  # the hourly one
    with services.db.read() as conn:
        reasons = list(conn.execute(select(checkpoints_table.c.reason).where(checkpoints_table.c.tenant_id == company.tenant_id).order_by(checkpoints_table.c.size)).scalars())
    assert reasons == ["hourly", "privileged", "hourly"]
    assert reconciler.reconcile(services).checkpoints == 0


def _export(company) -> list[str]:
    with tenant_read(company.services, company.slug) as (conn, tenant, actor):
        return [json.dumps(line, ensure_ascii=False) for line in audit_proofs.export_lines(conn, tenant, actor)]


def test_spec_8_an_export_verifies_offline_with_the_public_key_and_fails_with_any_byte_changed(services):
    company = make_company(services, per_kind=1)
    _sign(company)
    _add_members(company, 4)
    _sign(company)
    key = note.verifier_key(_key(company).name, _key(company).public_key)
    lines = _export(company)
    good = verify_export(lines, key)
    assert (good.ok, good.events, good.checkpoints, good.signed_size) == (True, len(lines) - 3, 2, len(lines) - 3)
    for number in (2, len(lines) // 2, len(lines) - 2, len(lines) - 1):
        line = lines[number - 1]
        for at in (line.index('"seq"') + 7 if '"seq"' in line else 20, len(line) - 30):
            changed = line[:at] + ("0" if line[at] != "0" else "1") + line[at + 1 :]
            tampered = [*lines[: number - 1], changed, *lines[number:]]
            assert not verify_export(tampered, key).ok, (number, at)
    dropped = [lines[0], *lines[2:]]
    assert not verify_export(dropped, key).ok
    other = note.verifier_key("offboard/acme/audit", note.public_bytes(Ed25519PrivateKey.generate()))  # a forger's key of the same name
    forged = verify_export(lines, other)
    assert not forged.ok and forged.problem.startswith("The checkpoint is not signed by this key")


def test_spec_8_a_proof_beyond_the_log_is_a_clear_error(services):
    company = make_company(services, per_kind=1)
    signed = _sign(company)
    with tenant_read(services, company.slug) as (conn, tenant, actor):
        with pytest.raises(Exception) as refused:
            audit_proofs.inclusion(conn, tenant, actor, signed.size + 1, signed)
    assert getattr(refused.value, "code", None) == "event_not_found"


def test_spec_8_hourly_means_an_hour_after_the_last_checkpoint(services, clock):
    company = make_company(services, per_kind=1)
    reconciler.reconcile(services)
    _add_members(company, 1)
    clock.advance(minutes=59)
    assert reconciler.reconcile(services).checkpoints == 0
    clock.advance(minutes=1)
    assert reconciler.reconcile(services).checkpoints == 1


def test_spec_8_the_cli_proves_exports_and_verifies_offline(services, capsys, tmp_path):
    """`audit prove` signs a checkpoint when none holds the event yet; `audit public-key`,
    `audit export` and `audit verify --file --public-key` check it with nothing but the key."""
    from offboard.cli.main import main

    if services.db.engine.dialect.name != "sqlite":
        pytest.skip("the CLI is exercised on the SQLite file once")
    company = make_company(services, per_kind=1)
    db = str(services.db.engine.url.database)

    def run(*args: str, expect: int = 0) -> str:
        with pytest.raises(SystemExit) as done:
            main(["--db", db, "--tenant", company.slug, *args])
        out, err = capsys.readouterr()
        assert (done.value.code or 0) == expect, out + err
        return out + err

    proof = json.loads(run("audit", "prove", "3", "--json"))
    key = Verifier.parse(run("audit", "public-key").strip())
    text, _ = note.open_note(proof["checkpoint"], [key])
    root = Checkpoint.parse(text).root
    assert merkle.verify_inclusion(2, proof["tree_size"], base64.b64decode(proof["leaf_hash"]), [base64.b64decode(p) for p in proof["proof"]], root)
    _add_members(company, 3)
    assert "Checkpoint of" in run("audit", "checkpoint")
    assert "is the start of the signed tree" in run("audit", "prove", "--from", str(proof["tree_size"]))
    assert "Merkle tree and 2 signed checkpoint(s) verified" in run("audit", "verify")
    exported = tmp_path / "audit.jsonl"
    run("audit", "export", "--output", str(exported))
    public = note.verifier_key(key.name, key.public_key)
    assert "The exported audit log verifies" in run("audit", "verify", "--file", str(exported), "--public-key", public)
    exported.write_text(exported.read_text().replace("member.added", "member.gone", 1))
    assert "was changed after it was written" in run("audit", "verify", "--file", str(exported), "--public-key", public, expect=1)
    assert "verify_file_needs_key" in run("audit", "verify", "--file", str(exported), expect=2)
    assert "not both" in run("audit", "prove", "3", "--from", "2", expect=2)
    assert "seq,at,actor,action" in run("audit", "export", "--format", "csv")
