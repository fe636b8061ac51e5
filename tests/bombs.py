"""Decompression bombs for the tests, built in well under a second."""

from __future__ import annotations

import struct
import zlib


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _zeros_zlib(rows: int, row: int, rows_per_block: int = 100) -> bytes:
    """The zlib stream of `rows` x `row` zero bytes, as `zlib.compress(..., 9)` would write it
    but without compressing 1.5 GB: after the first block every block of zeros is encoded the
    same (a sync flush aligns them), and so is the checksum of zeros."""
    assert rows % rows_per_block == 0 and rows >= 3 * rows_per_block
    block = b"\0" * (row * rows_per_block)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = packer.compress(block) + packer.flush(zlib.Z_SYNC_FLUSH)
    again = packer.compress(block) + packer.flush(zlib.Z_SYNC_FLUSH)
    last = packer.compress(block) + packer.flush()
    body = first + again * (rows // rows_per_block - 2) + last
    total = rows * row
    adler = ((total % 65521) << 16) | 1  # Adler-32 of zeros: a stays 1, b counts the bytes
    return b"\x78\xda" + body + struct.pack(">I", adler)


def rgba16_png_bomb(side: int = 14_000) -> bytes:
    """A valid PNG of `side` x `side` RGBA pixels at 16 bits, all zero. At 14,000 it is 196 MP,
    under the 200 MP default, 1.5 MB on disk and 1.5 GiB decoded (the security review's
    bomb)."""
    return png_of_zeros(side, bits=16, colour=6)


def png_of_zeros(side: int, bits: int = 8, colour: int = 2) -> bytes:
    """A valid PNG of `side` x `side` black pixels (`colour` 2: RGB, 6: RGBA, 0: grey) at
    `bits` per band; `side` a multiple of 100, at least 300."""
    bands = {0: 1, 2: 3, 6: 4}[colour]
    ihdr = struct.pack(">IIBBBBB", side, side, bits, colour, 0, 0, 0)
    idat = _zeros_zlib(side, side * bands * bits // 8 + 1)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )
