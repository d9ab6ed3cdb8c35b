"""RFC 6962 Merkle trees over audit event hashes: roots, inclusion proofs and their checks.

A signed checkpoint states the Merkle root of the first N event hashes. An inclusion proof then
shows, with no database, that one event (say, an approval printed in a PDF) is among those N:
anyone recomputes the root from the event's hash and the proof's sibling hashes and compares it
with the signed root. Hashing follows RFC 6962 section 2.1: leaves are hashed as
``SHA-256(0x00 || leaf)`` and interior nodes as ``SHA-256(0x01 || left || right)``, so a leaf can
never be passed off as a node.

>>> leaves = [bytes.fromhex(h) for h in ("aa" * 32, "bb" * 32, "cc" * 32)]
>>> proof = inclusion_proof(leaves, 2)
>>> verify_inclusion(leaves[2], 2, len(leaves), proof, merkle_root(leaves))
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

__all__ = [
    "consistency_matches",
    "inclusion_proof",
    "inclusion_proofs",
    "leaf_hash",
    "merkle_root",
    "node_hash",
    "verify_inclusion",
]

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(leaf: bytes) -> bytes:
    """The RFC 6962 hash of one leaf."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The RFC 6962 hash of an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1): where RFC 6962 splits a tree of n leaves."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def _level_root(hashes: list[bytes]) -> bytes:
    # Bottom-up over leaf hashes; an odd node at the end is carried up unchanged, which gives
    # exactly the RFC 6962 root (its left subtrees are always complete powers of two).
    level = hashes
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """The Merkle tree hash of the leaves (the hash of the empty string for no leaves)."""
    if not leaves:
        return EMPTY_ROOT
    return _level_root([leaf_hash(leaf) for leaf in leaves])


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree of ``leaves`` (RFC 6962 section 2.1.1)."""
    return inclusion_proofs(leaves, [index])[index]


def inclusion_proofs(leaves: Sequence[bytes], indexes: Sequence[int]) -> dict[int, list[bytes]]:
    """Audit paths for several leaves at once, building the tree's levels a single time.

    Bottom-up, a level's odd last node is carried up without a sibling; that is the RFC 6962
    tree, so each path lists the siblings met on the way up, leaf first.
    """
    for index in indexes:
        if not 0 <= index < len(leaves):
            raise ValueError(f"Leaf {index} is not in a tree of {len(leaves)} leaves.")
    levels = [[leaf_hash(leaf) for leaf in leaves]]
    while len(levels[-1]) > 1:
        level = levels[-1]
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        levels.append(nxt)
    proofs: dict[int, list[bytes]] = {}
    for index in indexes:
        path, i = [], index
        for level in levels[:-1]:
            sibling = i ^ 1
            if sibling < len(level):
                path.append(level[sibling])
            i >>= 1
        proofs[index] = path
    return proofs


def reference_path(hashes: list[bytes], index: int) -> list[bytes]:
    """RFC 6962's recursive definition of the audit path over leaf hashes (slow; for checking)."""
    n = len(hashes)
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return [*reference_path(hashes[:k], index), _level_root(hashes[k:])]
    return [*reference_path(hashes[k:], index - k), _level_root(hashes[:k])]


def verify_inclusion(
    leaf: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``proof`` shows ``leaf`` at ``index`` in a tree of ``tree_size`` with ``root``.

    The algorithm of RFC 9162 section 2.1.3.2, which needs nothing but the hashes.
    """
    if not 0 <= index < tree_size:
        return False
    fn, sn = index, tree_size - 1
    r = leaf_hash(leaf)
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


def consistency_matches(leaves: Sequence[bytes], size: int, root: bytes) -> bool:
    """Whether the first ``size`` leaves of a longer trail still give the root signed for them."""
    return 0 <= size <= len(leaves) and merkle_root(leaves[:size]) == root
