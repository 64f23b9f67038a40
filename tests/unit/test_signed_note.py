"""SPEC §8: checkpoints are C2SP signed notes with Ed25519. The specification's own example
(tests/vectors/signed-note) verifies with its verifier key; notes signed here verify with the
verifier key alone; a changed byte, a forged or unknown signature, a bad key are refused."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from offboard.audit import note
from offboard.audit.note import Checkpoint, NoteError, Verifier

C2SP_KEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
C2SP_NOTE = "This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"


def test_spec_8_the_c2sp_example_verifies():
    verifier = Verifier.parse(C2SP_KEY)
    text, names = note.open_note(C2SP_NOTE, [verifier])
    assert (text, names) == ("This is an example message.\n", ["example.com/foo"])
    assert note.verifier_key(verifier.name, verifier.public_key) == C2SP_KEY


def test_spec_8_the_c2sp_example_changed_by_one_byte_is_refused():
    with pytest.raises(NoteError, match="does not verify"):
        note.open_note(C2SP_NOTE.replace("example message", "example massage"), [Verifier.parse(C2SP_KEY)])


def test_spec_8_a_checkpoint_signed_here_verifies_with_the_public_key_alone():
    key = Ed25519PrivateKey.generate()
    name = "offboard.example/acme"
    checkpoint = Checkpoint(name, 1234, bytes(range(32)))
    signed = note.sign(checkpoint.text(), name, key)
    public = note.verifier_key(name, note.public_bytes(key))
    text, _ = note.open_note(signed, [Verifier.parse(public)])
    assert Checkpoint.parse(text) == checkpoint
    other = Ed25519PrivateKey.generate()
    with pytest.raises(NoteError, match="no known key"):
        note.open_note(signed, [Verifier.parse(note.verifier_key(name + "x", note.public_bytes(other)))])
    forged = note.sign(Checkpoint(name, 1235, bytes(range(32))).text(), name, other)  # the same name, another key
    with pytest.raises(NoteError, match="no known key"):
        note.open_note(forged, [Verifier.parse(public)])
    blob = signed.rsplit(" ", 1)[1]
    raw = bytearray(base64.b64decode(blob))
    raw[10] ^= 1
    with pytest.raises(NoteError, match="does not verify"):
        note.open_note(signed.replace(blob.strip(), base64.b64encode(bytes(raw)).decode()), [Verifier.parse(public)])


@pytest.mark.parametrize(
    "bad",
    [
        "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # id of another key
        "example.com/foo+530d903a+AqkyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # not type 0x01
        "example.com/foo+530d903a",
        "example com+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/foo+zz0d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
    ],
)
def test_spec_8_a_bad_verifier_key_is_refused(bad):
    with pytest.raises(NoteError):
        Verifier.parse(bad)


@pytest.mark.parametrize(
    "text",
    [
        "origin\n12\n",
        "origin\n012\nAAAA\n",
        "origin\n12\nnot base64!\n",
        "origin\n12\nAAAA\n",
        "\n12\n" + base64.b64encode(bytes(32)).decode() + "\n",
        "origin\n-1\n" + base64.b64encode(bytes(32)).decode() + "\n",
    ],
)
def test_spec_8_a_malformed_checkpoint_is_refused(text):
    with pytest.raises(NoteError):
        Checkpoint.parse(text)


def test_spec_8_a_note_without_signatures_or_with_a_garbled_line_is_refused():
    verifier = Verifier.parse(C2SP_KEY)
    for bad in ("This is an example message.\n", "This is an example message.\n\n- example.com/foo AAAA\n", C2SP_NOTE.rstrip("\n")):
        with pytest.raises(NoteError):
            note.open_note(bad, [verifier])


def test_spec_8_a_verifier_key_whose_base64_holds_plus_signs_parses():
    while True:
        key = Ed25519PrivateKey.generate()
        text = note.verifier_key("offboard/acme/audit", note.public_bytes(key))
        if "+" in text.split("+", 2)[2]:
            break
    assert Verifier.parse(text).public_key == note.public_bytes(key)
