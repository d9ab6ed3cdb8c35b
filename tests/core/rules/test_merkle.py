"""Merkle trees: roots and audit paths as RFC 6962 defines them, and proofs that fail when forged."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.rules.merkle import (
    EMPTY_ROOT,
    inclusion_proof,
    inclusion_proofs,
    leaf_hash,
    merkle_root,
    node_hash,
    reference_path,
    verify_inclusion,
)


def _reference_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 section 2.1's recursive Merkle tree hash, written from the text."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(
        b"\x01" + _reference_root(leaves[:k]) + _reference_root(leaves[k:])
    ).digest()


def _leaves(n: int) -> list[bytes]:
    return [hashlib.sha256(str(i).encode()).digest() for i in range(n)]


def test_known_small_trees() -> None:
    a, b, c = _leaves(3)
    assert merkle_root([]) == EMPTY_ROOT
    assert merkle_root([a]) == leaf_hash(a)
    assert merkle_root([a, b]) == node_hash(leaf_hash(a), leaf_hash(b))
    assert merkle_root([a, b, c]) == node_hash(node_hash(leaf_hash(a), leaf_hash(b)), leaf_hash(c))


@given(st.integers(min_value=1, max_value=70))
def test_root_and_paths_match_the_rfc_definition(n: int) -> None:
    leaves = _leaves(n)
    root = merkle_root(leaves)
    assert root == _reference_root(leaves)
    hashes = [leaf_hash(x) for x in leaves]
    proofs = inclusion_proofs(leaves, list(range(n)))
    for i in range(n):
        assert proofs[i] == reference_path(hashes, i)
        assert verify_inclusion(leaves[i], i, n, proofs[i], root)


@given(st.integers(min_value=2, max_value=40), st.data())
def test_forged_proofs_fail(n: int, data: st.DataObject) -> None:
    leaves = _leaves(n)
    root = merkle_root(leaves)
    i = data.draw(st.integers(min_value=0, max_value=n - 1))
    proof = inclusion_proof(leaves, i)
    other = (i + 1) % n
    assert not verify_inclusion(leaves[other], i, n, proof, root)  # another leaf in its place
    assert not verify_inclusion(leaves[i], other, n, proof, root)  # the same leaf elsewhere
    if proof:
        bad = [bytes(32), *proof[1:]]
        assert not verify_inclusion(leaves[i], i, n, bad, root)
    assert not verify_inclusion(leaves[i], i, n, proof, bytes(32))


def test_a_leaf_outside_the_tree_has_no_proof() -> None:
    with pytest.raises(ValueError, match="Leaf 3 is not in a tree of 3 leaves"):
        inclusion_proof(_leaves(3), 3)
