"""The Merkle tree of a tenant's audit events (SPEC §8) in the manner of RFC 9162 §2.1: the
leaves are the events' hashed cores, leaf hash SHA-256(0x00 || core), node hash
SHA-256(0x01 || left || right).

A tree of size n is cut into perfect subtrees: a node (level, index) covers the leaves
[index * 2**level, (index + 1) * 2**level). Level 0 nodes are the leaf hashes (the events'
hashes); higher ones are stored as the tree grows (offboard.store.audit_tree), so a proof for
any size reads O(log n) stored nodes: every range a proof needs is a perfect subtree or a
range that ends at the tree's size, which splits into at most log2(n) perfect ones.

Proofs are made and checked as RFC 9162 §2.1.3 (inclusion) and §2.1.4 (consistency) say,
and subtree proofs as the Merkle Tree Certificates draft's §4.3 and §4.4 do (a subtree is a
range [start, end) whose start is a multiple of the smallest power of two at least its size).
The verifiers need nothing but hashes: an auditor checks a proof with this module alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence

Node = tuple[int, int]  # (level, index)
Range = tuple[int, int]  # leaves [lo, hi)
HASH_SIZE = 32


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def perfect(lo: int, hi: int) -> list[Node]:
    """The perfect subtrees that make up the range [lo, hi) as the tree's hashing splits it,
    left to right: one node for an aligned power-of-two range, else the largest first."""
    nodes: list[Node] = []
    while lo < hi:
        size = hi - lo
        if size & (size - 1) == 0 and lo % size == 0:
            nodes.append((size.bit_length() - 1, lo // size))
            break
        k = _split(size)
        level = k.bit_length() - 1
        if lo % k:
            raise ValueError(f"[{lo}, {hi}) is not a range of the tree")
        nodes.append((level, lo // k))
        lo += k
    return nodes


def range_hash(lo: int, hi: int, nodes: Mapping[Node, bytes]) -> bytes:
    """MTH of the leaves [lo, hi) from the hashes of its perfect subtrees."""
    if lo == hi:
        return EMPTY_ROOT
    parts = [nodes[n] for n in perfect(lo, hi)]
    result = parts[-1]
    for part in reversed(parts[:-1]):
        result = node_hash(part, result)
    return result


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes (RFC 9162 §2.1.1), for tests and small trees."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node_hash(root_of(leaves[:k]), root_of(leaves[k:]))


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The ranges whose hashes form PATH(index, D[size]) (RFC 9162 §2.1.3.1), leaf first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    path: list[Range] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index - lo < k:
            path.append((lo + k, hi))
            hi = lo + k
        else:
            path.append((lo, lo + k))
            lo += k
    return path[::-1]


def consistency_ranges(old: int, new: int) -> list[Range]:
    """The ranges whose hashes form PROOF(old, D[new]) (RFC 9162 §2.1.4.1), bottom first."""
    if not 0 < old <= new:
        raise ValueError(f"no consistency proof from size {old} to {new}")
    path: list[Range] = []
    lo, hi, m, whole = 0, new, old, True
    while m != hi - lo:
        n = hi - lo
        k = _split(n)
        if m <= k:
            path.append((lo + k, hi))
            hi = lo + k
        else:
            path.append((lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    if not whole:
        path.append((lo, hi))
    return path[::-1]


def needed(ranges: Sequence[Range]) -> set[Node]:
    """Every stored node a list of ranges is hashed from."""
    return {node for lo, hi in ranges for node in perfect(lo, hi)}


def prove(ranges: Sequence[Range], read: Callable[[set[Node]], Mapping[Node, bytes]]) -> list[bytes]:
    """The proof's hashes, reading the nodes it needs at once."""
    nodes = read(needed(ranges))
    return [range_hash(lo, hi, nodes) for lo, hi in ranges]


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2."""
    if not 0 <= index < size or len(leaf) != HASH_SIZE or any(len(p) != HASH_SIZE for p in proof):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2; equal sizes need an empty proof and equal roots."""
    if any(len(p) != HASH_SIZE for p in proof) or not 0 < old <= new:
        return False
    if old == new:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


def valid_subtree(start: int, end: int) -> bool:
    """[start, end) is a subtree: not empty, and start a multiple of the smallest power of two
    at least end - start."""
    if not 0 <= start < end:
        return False
    width = 1 << (end - start - 1).bit_length()
    return start % width == 0


def verify_subtree_inclusion(index: int, start: int, end: int, leaf: bytes, proof: Sequence[bytes], subtree_root: bytes) -> bool:
    """A leaf of the subtree [start, end): the inclusion of index - start in a tree of its size."""
    return valid_subtree(start, end) and start <= index < end and verify_inclusion(index - start, end - start, leaf, proof, subtree_root)


def verify_subtree_consistency(start: int, end: int, size: int, proof: Sequence[bytes], subtree_root: bytes, root: bytes) -> bool:
    """The subtree [start, end) with hash `subtree_root` sits at those leaves of the tree of
    `size` with hash `root` (the MTC draft's §4.4.3). An empty subtree is in every tree: its
    hash must be the empty hash, its proof empty."""
    if 0 <= start == end <= size:
        return not proof and subtree_root == EMPTY_ROOT
    if not valid_subtree(start, end) or end > size or any(len(p) != HASH_SIZE for p in proof):
        return False
    fn, sn, tn = start, end - 1, size - 1
    if sn == tn:
        while fn != sn:
            fn, sn, tn = fn >> 1, sn >> 1, tn >> 1
    else:
        while fn != sn and sn & 1:
            fn, sn, tn = fn >> 1, sn >> 1, tn >> 1
    if fn == sn:
        fr = sr = subtree_root
        rest = list(proof)
    else:
        if not proof:
            return False
        fr = sr = proof[0]
        rest = list(proof[1:])
    for c in rest:
        if tn == 0:
            return False
        if sn & 1 or sn == tn:
            if fn < sn:
                fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not sn & 1:
                fn, sn, tn = fn >> 1, sn >> 1, tn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn, tn = fn >> 1, sn >> 1, tn >> 1
    return tn == 0 and fr == subtree_root and sr == root
