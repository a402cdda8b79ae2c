"""The RFC 6962 Merkle tree (core/records/merkle.py) against the published reference vectors.

The vectors (eight leaves, the roots of sizes 1..8, audit paths, consistency proofs) are
copied from Google's certificate-transparency repository, `cpp/merkletree/merkle_tree_test.cc`
(github.com/google/certificate-transparency: kInputs, kSHA256Roots, kSHA256Paths,
kSHA256Proofs; the same values are in transparency-dev/merkle's proof tests). That file
numbers leaves from 1; the indexes below are 0-based.
"""
from __future__ import annotations

from hashlib import sha256

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.records import merkle

INPUTS = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f")]
EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
ROOTS = [  # MTH of the first 1..8 inputs
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
PATHS = [  # (leaf index, tree size, audit path)
    (0, 1, []),
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
CONSISTENCY = [  # (first size, second size, proof)
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]


def _hexes(nodes):
    return [node.hex() for node in nodes]


def test_the_empty_tree_is_the_hash_of_nothing():
    assert merkle.root([]).hex() == EMPTY == merkle.RootBuilder().root().hex()


@pytest.mark.parametrize("size", range(1, 9))
def test_reference_roots(size):
    assert merkle.root(INPUTS[:size]).hex() == ROOTS[size - 1]
    builder = merkle.RootBuilder()
    builder.extend(INPUTS[:size])
    assert builder.root().hex() == ROOTS[size - 1]


@pytest.mark.parametrize("index,size,path", PATHS)
def test_reference_audit_paths(index, size, path):
    proof = merkle.inclusion_proof(index, INPUTS[:size])
    assert _hexes(proof) == path
    root = bytes.fromhex(ROOTS[size - 1])
    assert merkle.verify_inclusion(index, size, INPUTS[index], proof, root)
    # the wrong leaf, index, size or root fails
    assert not merkle.verify_inclusion(index, size, b"WrongLeaf", proof, root)
    assert not merkle.verify_inclusion(index + 1, size, INPUTS[index], proof, root)
    assert not merkle.verify_inclusion(index, size * 2, INPUTS[index], proof, root)
    assert not merkle.verify_inclusion(index, size, INPUTS[index], proof, bytes.fromhex(EMPTY))
    # and so does a path with a node changed, added or taken away
    for j in range(len(proof)):
        wrong = list(proof)
        wrong[j] = bytes.fromhex(EMPTY)
        assert not merkle.verify_inclusion(index, size, INPUTS[index], wrong, root)
    assert not merkle.verify_inclusion(index, size, INPUTS[index], proof + [root], root)
    if proof:
        assert not merkle.verify_inclusion(index, size, INPUTS[index], proof[:-1], root)


@pytest.mark.parametrize("m,n,path", CONSISTENCY)
def test_reference_consistency_proofs(m, n, path):
    proof = merkle.consistency_proof(m, INPUTS[:n])
    assert _hexes(proof) == path
    first, second = bytes.fromhex(ROOTS[m - 1]), bytes.fromhex(ROOTS[n - 1])
    assert merkle.verify_consistency(m, n, first, second, proof)
    if proof:
        assert not merkle.verify_consistency(m, n, second, first, proof)
        assert not merkle.verify_consistency(m - 1 or 2, n, first, second, proof)
        assert not merkle.verify_consistency(m, n, first, second, [])
        assert not merkle.verify_consistency(m, n, first, second, proof[:-1])
        assert not merkle.verify_consistency(m, n, first, second, proof + [proof[-1]])


def _reference_root(leaves):
    """MTH straight from RFC 6962's recursive definition, to check the level-by-level one."""
    if not leaves:
        return sha256(b"").digest()
    if len(leaves) == 1:
        return sha256(b"\x00" + leaves[0]).digest()
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return sha256(b"\x01" + _reference_root(leaves[:k]) + _reference_root(leaves[k:])).digest()


def test_every_size_agrees_with_the_recursive_definition():
    leaves = [bytes([i]) * (i % 5) for i in range(70)]
    for n in range(71):
        expected = _reference_root(leaves[:n])
        assert merkle.root(leaves[:n]) == expected
        builder = merkle.RootBuilder()
        builder.CHUNK = 4  # small chunks, so the stack of full subtrees is exercised
        builder.extend(leaves[:n])
        assert builder.root() == expected and builder.count == n


def test_a_big_tree_built_a_slice_at_a_time_agrees():
    """Levels over a megabyte are filled a slice at a time; chunked roots never are."""
    leaves = [i.to_bytes(32, "big") for i in range(70_001)]
    tree = merkle.Tree(leaves)
    assert tree.root == merkle.root(leaves)
    picks = [0, 1, 32_767, 32_768, 65_535, 70_000]
    paths = merkle.inclusion_proofs_from_leaf_hashes(
        bytearray(b"".join(merkle.leaf_hash(leaf) for leaf in leaves)), picks)
    for i in picks:
        assert paths[i] == tree.inclusion_proof(i)
        assert merkle.verify_inclusion(i, len(leaves), leaves[i], paths[i], tree.root)


_leaves = st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=140)


@settings(max_examples=60, deadline=None)
@given(leaves=_leaves, data=st.data())
def test_every_inclusion_proof_verifies_and_a_flipped_byte_fails(leaves, data):
    tree = merkle.Tree(leaves)
    assert tree.root == merkle.root(leaves)
    index = data.draw(st.integers(0, len(leaves) - 1))
    proof = tree.inclusion_proof(index)
    # the two-levels-at-a-time paths (what checkpoint.inclusion_proofs uses) are the same
    others = data.draw(st.lists(st.integers(0, len(leaves) - 1), max_size=5))
    leaf_level = bytearray(b"".join(merkle.leaf_hash(leaf) for leaf in leaves))
    paths = merkle.inclusion_proofs_from_leaf_hashes(leaf_level, [index, *others])
    assert all(paths[i] == tree.inclusion_proof(i) for i in [index, *others])
    assert merkle.verify_inclusion(index, len(leaves), leaves[index], proof, tree.root)
    byte = data.draw(st.integers(0, 31))
    flipped = bytearray(leaves[index])
    flipped[byte] ^= 1
    assert not merkle.verify_inclusion(index, len(leaves), bytes(flipped), proof, tree.root)
    if proof:
        j = data.draw(st.integers(0, len(proof) - 1))
        wrong = [bytearray(p) for p in proof]
        wrong[j][byte] ^= 0x80
        assert not merkle.verify_inclusion(index, len(leaves), leaves[index],
                                           [bytes(p) for p in wrong], tree.root)
    root = bytearray(tree.root)
    root[byte] ^= 1
    assert not merkle.verify_inclusion(index, len(leaves), leaves[index], proof, bytes(root))


@settings(max_examples=60, deadline=None)
@given(leaves=_leaves, data=st.data())
def test_every_consistency_proof_verifies_and_a_flipped_byte_fails(leaves, data):
    n = len(leaves)
    m = data.draw(st.integers(1, n))
    proof = merkle.consistency_proof(m, leaves)
    first, second = merkle.root(leaves[:m]), merkle.root(leaves)
    assert merkle.verify_consistency(m, n, first, second, proof)
    if m < n:
        byte = data.draw(st.integers(0, 31))
        j = data.draw(st.integers(0, len(proof) - 1))
        wrong = [bytearray(p) for p in proof]
        wrong[j][byte] ^= 1
        assert not merkle.verify_consistency(m, n, first, second, [bytes(p) for p in wrong])
        # a history rewritten before m: the old root no longer fits the new tree
        edited = list(leaves)
        edited[data.draw(st.integers(0, m - 1))] = b"\xff" * 33
        assert not merkle.verify_consistency(m, n, first, merkle.root(edited),
                                             merkle.consistency_proof(m, edited))


def test_out_of_range_requests_are_refused():
    with pytest.raises(IndexError):
        merkle.inclusion_proof(3, INPUTS[:3])
    with pytest.raises(IndexError):
        merkle.consistency_proof(4, INPUTS[:3])
    assert not merkle.verify_inclusion(0, 0, b"", [], bytes.fromhex(EMPTY))
    assert not merkle.verify_consistency(2, 1, b"", b"", [])
