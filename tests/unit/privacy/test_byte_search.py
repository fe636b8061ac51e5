"""The erasure check's byte search counts what `bytes.count` counts, probe by probe, across
the pieces a file is read in."""

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regard.privacy import byte_search
from regard.privacy.byte_search import count_in_file


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    size=st.integers(0, 3000),
    n_probes=st.integers(1, 6),
    planted=st.integers(0, 12),
    piece=st.integers(1, 700),
)
def test_counts_as_bytes_count_does_across_pieces(
    tmp_path_factory: pytest.TempPathFactory,
    seed: int,
    size: int,
    n_probes: int,
    planted: int,
    piece: int,
) -> None:
    rng = random.Random(seed)
    probes = [rng.randbytes(48) for _ in range(n_probes)]
    probes.append(probes[0])  # a vector erased twice is searched for twice
    data = bytearray(rng.randbytes(size))
    for _ in range(planted):  # at any offset, across piece boundaries, at the very end
        p = rng.choice(probes)
        at = rng.randint(0, len(data))
        data[at:at] = p
    path = tmp_path_factory.mktemp("bytes") / "file.bin"
    path.write_bytes(bytes(data))
    expected = sum(bytes(data).count(p) for p in probes)
    assert count_in_file(path, probes, piece=piece) == expected
    assert count_in_file(path, probes) == expected
    # Past a few probes the table takes over: the same counts.
    many = probes + [rng.randbytes(48) for _ in range(byte_search.FEW)]
    assert count_in_file(path, many, piece=piece) == expected


def test_no_probes_and_wrong_lengths(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 100)
    assert count_in_file(path, []) == 0
    with pytest.raises(ValueError, match="one length"):
        count_in_file(path, [b"short"])
    with pytest.raises(ValueError, match="one length"):
        count_in_file(path, [b"a" * 48, b"b" * 40])
