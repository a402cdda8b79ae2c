"""The RFC 6962 Merkle tree over the audit chain's event hashes, so a signed checkpoint can
commit to the whole log in 32 bytes and an examiner can check one event against it.

Pure functions (RFC 6962 section 2.1, RFC 9162 section 2.1): a leaf's hash is
SHA-256(0x00 ‖ leaf), a node's SHA-256(0x01 ‖ left ‖ right), the tree of n > 1 leaves splits
at the largest power of two below n, the empty tree's hash is SHA-256(""). The audit chain's
leaves are the events' hashes (32 bytes each, from their hex). The tree is computed level by
level — a lone last node moves up a level unchanged, which gives the same tree as the
recursive split — on levels kept as one `bytes` each (32 bytes a node): a million leaves
take 32 MB for the leaf level and about as much for the rest. `RootBuilder` computes a root
from leaves streamed in, in little memory (`write_checkpoint` reads a million event hashes
that way). The tests check the certificate-transparency reference vectors.
"""
from __future__ import annotations

from hashlib import sha256
from typing import Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = sha256(b"").digest()
_LEAF, _NODE = b"\x00", b"\x01"
_SLICE = 1 << 20  # bytes of a level hashed at a time (16,384 pairs)


def leaf_hash(leaf: bytes) -> bytes:
    return sha256(_LEAF + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(_NODE + left + right).digest()


def _next_level(level: bytes | bytearray) -> bytes | bytearray:
    """The level above: each pair of nodes hashed; a lone last node moves up unchanged.
    A small level is joined at once; a big one is filled in place, a slice at a time, so
    building it never holds more than the two levels."""
    pair = 2 * HASH_SIZE
    pairs = len(level) // pair * pair
    if pairs <= _SLICE:
        return b"".join([sha256(_NODE + level[i:i + pair]).digest()
                         for i in range(0, pairs, pair)]) + level[pairs:]
    up = bytearray(pairs // 2 + len(level) - pairs)
    for start in range(0, pairs, _SLICE):
        end = min(start + _SLICE, pairs)
        up[start // 2:end // 2] = b"".join([sha256(_NODE + level[i:i + pair]).digest()
                                            for i in range(start, end, pair)])
    up[pairs // 2:] = level[pairs:]
    return up


def _leaf_level(leaves: Iterable[bytes]) -> bytes:
    return b"".join([sha256(_LEAF + leaf).digest() for leaf in leaves])


def _levels(leaf_level: bytes | bytearray) -> list[bytes | bytearray]:
    """Every level of the tree, the leaves' hashes first, the root last (one node)."""
    levels = [leaf_level]
    while len(levels[-1]) > HASH_SIZE:
        levels.append(_next_level(levels[-1]))
    return levels


def _subtree_root(leaf_level: bytes | bytearray) -> bytes:
    """MTH of the leaves whose hashes are `leaf_level` (32 bytes each)."""
    if not leaf_level:
        return EMPTY_ROOT
    level = leaf_level
    while len(level) > HASH_SIZE:
        level = _next_level(level)
    return level


def root(leaves: Iterable[bytes]) -> bytes:
    """MTH(D[n]): the root of the tree of these leaves (leaf data, hashed here), by chunks
    (`RootBuilder`: a third faster than one level of a million nodes at a time, which
    leaves the processor's caches behind)."""
    builder = RootBuilder()
    builder.extend(leaves)
    return builder.root()


class RootBuilder:
    """The root of a tree whose leaves arrive in order, in memory of a few chunks: full
    chunks of 2^k leaves are complete subtrees, kept on a stack (at most one per size, so
    about log2(n) of them) and merged as in a binary counter; `root()` folds the stack with
    the last, partial chunk from the right, as the recursive split would."""

    CHUNK = 1 << 14

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[tuple[int, bytes]] = []  # (leaves, subtree root), largest first
        self._pending: list[bytes] = []

    def add(self, leaf: bytes) -> None:
        self.extend((leaf,))

    def extend(self, leaves: Iterable[bytes]) -> None:
        self._pending.extend(leaves)
        if len(self._pending) >= self.CHUNK:
            pending, start = self._pending, 0
            while len(pending) - start >= self.CHUNK:
                self._push_chunk(pending[start:start + self.CHUNK])
                start += self.CHUNK
            self._pending = pending[start:]

    def _push_chunk(self, chunk: list[bytes]) -> None:
        size, node = len(chunk), _subtree_root(_leaf_level(chunk))
        self.size += size
        while self._stack and self._stack[-1][0] == size:
            left_size, left = self._stack.pop()
            size, node = left_size + size, node_hash(left, node)
        self._stack.append((size, node))

    def root(self) -> bytes:
        """MTH of every leaf added so far (adding more afterwards is fine)."""
        nodes = [node for _, node in self._stack]
        if self._pending:
            nodes.append(_subtree_root(_leaf_level(self._pending)))
        if not nodes:
            return EMPTY_ROOT
        acc = nodes[-1]
        for node in reversed(nodes[:-1]):
            acc = node_hash(node, acc)
        return acc

    @property
    def count(self) -> int:
        return self.size + len(self._pending)


class Tree:
    """Every level of one tree, for many inclusion proofs against the same root."""

    def __init__(self, leaves: Sequence[bytes]):
        self.size = len(leaves)
        self._levels = _levels(_leaf_level(leaves)) if leaves else [b""]

    @classmethod
    def from_leaf_hashes(cls, leaf_level: bytes | bytearray) -> "Tree":
        """The tree whose leaves' hashes (32 bytes each) are `leaf_level`, end to end."""
        if len(leaf_level) % HASH_SIZE:
            raise ValueError("leaf hashes are 32 bytes each")
        tree = cls([])
        tree.size = len(leaf_level) // HASH_SIZE
        tree._levels = _levels(leaf_level) if leaf_level else [b""]
        return tree

    @property
    def root(self) -> bytes:
        return self._levels[-1] if self.size else EMPTY_ROOT

    def inclusion_proof(self, index: int) -> list[bytes]:
        """PATH(m, D[n]) of RFC 9162 2.1.3.1, the sibling nearest the leaf first."""
        if not 0 <= index < self.size:
            raise IndexError(f"leaf {index} is not in a tree of {self.size}")
        proof, i = [], index
        for level in self._levels[:-1]:
            sibling = i ^ 1
            if sibling * HASH_SIZE < len(level):
                proof.append(bytes(level[sibling * HASH_SIZE:(sibling + 1) * HASH_SIZE]))
            i >>= 1
        return proof


def inclusion_proofs_from_leaf_hashes(leaf_level: bytes | bytearray,
                                      indexes: Iterable[int]) -> dict[int, list[bytes]]:
    """The audit path of each leaf in `indexes`, from the leaves' hashes end to end (32 bytes
    each), keeping only two levels at a time: for a million leaves, 48 MB instead of `Tree`'s
    64 MB plus the leaves."""
    size = len(leaf_level) // HASH_SIZE
    if len(leaf_level) % HASH_SIZE:
        raise ValueError("leaf hashes are 32 bytes each")
    positions = {i: i for i in indexes}
    if any(not 0 <= i < size for i in positions):
        raise IndexError(f"a leaf asked for is not in a tree of {size}")
    proofs: dict[int, list[bytes]] = {i: [] for i in positions}
    level = leaf_level
    while len(level) > HASH_SIZE:
        for i, pos in positions.items():
            sibling = pos ^ 1
            if sibling * HASH_SIZE < len(level):
                proofs[i].append(bytes(level[sibling * HASH_SIZE:(sibling + 1) * HASH_SIZE]))
            positions[i] = pos >> 1
        level = _next_level(level)
    return proofs


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """The audit path of leaf `index` (0-based) in the tree of `leaves`."""
    return Tree(leaves).inclusion_proof(index)


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes],
                     root_hash: bytes) -> bool:
    """Whether `leaf` is leaf `index` of the tree of `size` leaves whose root is `root_hash`
    (RFC 9162 2.1.3.2, with `leaf` the leaf's data, hashed here)."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf_hash(leaf)
    for p in proof:
        if sn == 0 or len(p) != HASH_SIZE:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root_hash


def consistency_proof(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 2.1.4.1: the nodes proving the tree of the first m leaves
    is a prefix of the tree of all of them (empty for m = 0 or m = n)."""
    n = len(leaves)
    if not 0 <= m <= n:
        raise IndexError(f"a tree of {n} has no prefix of {m}")
    level = _leaf_level(leaves)
    if m == 0 or m == n:
        return []
    proof: list[bytes] = []
    _subproof(m, level, True, proof)
    return proof


def _subproof(m: int, level: bytes, complete: bool, proof: list[bytes]) -> None:
    """SUBPROOF(m, D[n], b), appending to `proof` (leaf hashes in `level`, n = its nodes)."""
    n = len(level) // HASH_SIZE
    if m == n:
        if not complete:
            proof.append(_subtree_root(level))
        return
    k = 1 << ((n - 1).bit_length() - 1)  # the largest power of two below n
    if m <= k:
        _subproof(m, level[:k * HASH_SIZE], complete, proof)
        proof.append(_subtree_root(level[k * HASH_SIZE:]))
    else:
        _subproof(m - k, level[k * HASH_SIZE:], False, proof)
        proof.append(_subtree_root(level[:k * HASH_SIZE]))


def verify_consistency(m: int, n: int, first_root: bytes, second_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """Whether the tree of m leaves with `first_root` is a prefix of the tree of n leaves
    with `second_root` (RFC 9162 2.1.4.2)."""
    if not 0 <= m <= n:
        return False
    if m == 0:
        return not proof  # the empty tree is a prefix of every tree
    if m == n:
        return not proof and first_root == second_root
    if not proof or any(len(p) != HASH_SIZE for p in proof):
        return False
    path = list(proof)
    if m & (m - 1) == 0:  # m a power of two: the first root is the proof's first node
        path.insert(0, first_root)
    fn, sn = m - 1, n - 1
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
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root
