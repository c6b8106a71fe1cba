#!/usr/bin/python3
"""Reference reader for slaf dense matrix files (.dense), format version 1.x.

Written from format-spec/README.md alone (§2 container, §3.5-§3.6, §8 dense
matrix file): every check names its section, in the order of §8.2-§8.4. It
decodes the whole matrix into a numpy array of shape (n_rows, n_cols).

Usage:
  read_dense.py FILE           verify everything and print a summary
  read_dense.py FILE --json    print the decoded matrix as JSON, with the
                               keys of format-spec/golden/dense_*.json

Exit status as read_seg.py: 0 valid; 1 corrupt; 2 not supported;
3 unavailable; 64 usage error. Needs Python 3 and numpy.
"""

import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from read_seg import CODEC_NAMES, HEADER_SIZE, Corruption, NotSupported, SegmentError, u16, u32, u64  # noqa: E402
from read_tbl import check_ids, load_chunk, open_container  # noqa: E402

KIND_DNSE = b"DNSE"          # §1.2, §8.1
FOOTER_FIXED_SIZE = 64       # §8.2
ENTRY_SIZE = 40              # §8.3
MAX_ROWS = 1 << 40           # §8.5
MAX_COLS = 1 << 24           # §8.5
MAX_CHUNK_ROWS = 1 << 24     # §8.5
MAX_CHUNK_BYTES = 1 << 28    # §8.5
VALUE_TYPES = {1: ("float32", 4, "<f4"), 2: ("float64", 8, "<f8")}  # §8.2
ENCODINGS = (1, 2)           # §8.4: plain, byte planes


class Chunk:
    pass


class DenseFile:
    pass


def read_dense(path):
    """Opens, verifies and fully decodes one dense file (§8)."""
    c = open_container(path, KIND_DNSE, "\"DNSE\" (44 4e 53 45), the dense matrix kind (format-spec §8.1)")
    footer, fo = c.footer, c.footer_offset

    def fat(rel):
        return c.at(fo + rel)

    m = DenseFile()
    m.name, m.size, m.file_id, m.version = c.name, c.size, c.file_id, c.version
    m.n_rows, m.n_cols, value_type, n_chunks = u64(footer, 8), u32(footer, 16), footer[20], u32(footer, 24)
    # §8.2 step 1: limits.
    if m.n_rows > MAX_ROWS:
        raise Corruption("%s: n_rows %d exceeds the limit 2^40 (format-spec §8.5)" % (fat(8), m.n_rows))
    if m.n_cols > MAX_COLS:
        raise Corruption("%s: n_cols %d exceeds the limit 2^24 (format-spec §8.5)" % (fat(16), m.n_cols))
    # Step 2: value type.
    if value_type not in VALUE_TYPES:
        raise NotSupported("%s: unknown value_type %d (format-spec §8.2)" % (fat(20), value_type))
    m.value_type, size, dtype = VALUE_TYPES[value_type]
    # Step 3: reserved bytes.
    if any(footer[21:24]) or any(footer[28:64]):
        raise Corruption("%s: reserved footer bytes must be 0 (format-spec §8.2)" % fat(21))
    # Step 4: exact length.
    expect = FOOTER_FIXED_SIZE + ENTRY_SIZE * n_chunks
    if expect != c.footer_len:
        raise Corruption("%s: footer length %d does not match n_chunks %d (expected %d bytes) (format-spec §8.2)" % (fat(24), c.footer_len, n_chunks, expect))
    # Step 5: directory entries (§8.3).
    m.chunks = []
    next_offset, next_row = HEADER_SIZE, 0
    for i in range(n_chunks):
        rel = FOOTER_FIXED_SIZE + ENTRY_SIZE * i
        e = footer[rel:rel + ENTRY_SIZE]
        who = "chunk %d: " % i
        ch = Chunk()
        ch.index = i
        ch.offset, ch.stored_len, ch.raw_len, ch.first_row, ch.n_rows = u64(e, 0), u32(e, 8), u32(e, 12), u64(e, 16), u32(e, 24)
        ch.codec, ch.encoding, ch.checksum = e[28], e[29], u64(e, 32)
        if u16(e, 30) != 0:  # step 1
            raise Corruption("%s: %sreserved directory bytes must be 0 (format-spec §8.3)" % (fat(rel + 30), who))
        if ch.offset != next_offset:  # step 2
            raise Corruption("%s: %soffset %d, expected %d (chunks are contiguous, format-spec §8.3)" % (fat(rel), who, ch.offset, next_offset))
        if ch.stored_len > MAX_CHUNK_BYTES or ch.raw_len > MAX_CHUNK_BYTES:  # step 3
            raise Corruption("%s: %slength over the 256 MiB limit (format-spec §8.5)" % (fat(rel + 8), who))
        if ch.stored_len > fo - ch.offset:  # step 4
            raise Corruption("%s: %sruns past the footer at offset %d (format-spec §8.3)" % (fat(rel + 8), who, fo))
        if ch.first_row != next_row:  # step 5
            raise Corruption("%s: %sfirst_row %d, expected %d (format-spec §8.3)" % (fat(rel + 16), who, ch.first_row, next_row))
        if not 1 <= ch.n_rows <= MAX_CHUNK_ROWS:  # step 6
            raise Corruption("%s: %sn_rows %d outside 1..2^24 (format-spec §8.5)" % (fat(rel + 24), who, ch.n_rows))
        if ch.codec not in CODEC_NAMES:  # step 7
            raise NotSupported("%s: %sunknown codec id %d (format-spec §3.5)" % (fat(rel + 28), who, ch.codec))
        if ch.encoding not in ENCODINGS:  # step 8
            raise NotSupported("%s: %sunknown encoding %d (format-spec §8.4)" % (fat(rel + 29), who, ch.encoding))
        want = ch.n_rows * m.n_cols * size
        if ch.raw_len != want:  # step 9
            raise Corruption("%s: %sraw_len %d, expected n_rows x n_cols x %d = %d (format-spec §8.3)" % (fat(rel + 12), who, ch.raw_len, size, want))
        if ch.codec == 0 and ch.raw_len != ch.stored_len:  # step 10
            raise Corruption("%s: %suncompressed chunk has stored_len %d != raw_len %d (format-spec §8.3)" % (fat(rel + 8), who, ch.stored_len, ch.raw_len))
        if ch.codec == 2 and ch.raw_len > 255 * ch.stored_len:
            raise Corruption("%s: %slz4 block of %d bytes cannot decode to raw_len %d (format-spec §3.5)" % (fat(rel + 12), who, ch.stored_len, ch.raw_len))
        next_offset = ch.offset + ch.stored_len
        next_row += ch.n_rows
        m.chunks.append(ch)
    # Step 6: totals.
    if next_offset != fo:
        raise Corruption("%s: chunks end at offset %d but the footer starts at %d (format-spec §8.3)" % (fat(0), next_offset, fo))
    if next_row != m.n_rows:
        raise Corruption("%s: chunks hold %d rows, footer says n_rows %d (format-spec §8.2)" % (fat(8), next_row, m.n_rows))
    # Step 7: ids and minor versions.
    check_ids(c, u64(footer, 0))

    # §8.4: every chunk.
    parts = []
    for ch in m.chunks:
        ctx = "%s: chunk %d at offset %d" % (c.name, ch.index, ch.offset)
        p = bytes(load_chunk(c, ch.index, ch, ctx, "§8.4"))
        n_values = ch.n_rows * m.n_cols
        if ch.encoding == 2:  # byte b of value k at b*N + k
            p = np.frombuffer(p, dtype=np.uint8).reshape(size, n_values).T.tobytes()
        parts.append(np.frombuffer(p, dtype=dtype))
    flat = np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
    m.values = flat.reshape(m.n_rows, m.n_cols)
    return m


def to_json(m):
    def num(x):
        x = float(x)
        if math.isnan(x):
            return "NaN"
        if math.isinf(x):
            return "Infinity" if x > 0 else "-Infinity"
        return x
    return json.dumps({"file": m.name, "n_rows": m.n_rows, "n_cols": m.n_cols, "value_type": m.value_type,
                       "values": [num(x) for x in m.values.reshape(-1)]})


def main(argv):
    if len(argv) not in (2, 3) or (len(argv) == 3 and argv[2] != "--json"):
        sys.stderr.write("usage: read_dense.py FILE [--json]\n")
        return 64
    try:
        m = read_dense(argv[1])
    except SegmentError as e:
        kind = {1: "corrupt", 2: "not supported", 3: "unavailable"}[e.exit_status]
        sys.stderr.write("read_dense: %s: %s\n" % (kind, e))
        return e.exit_status
    if len(argv) == 3:
        print(to_json(m))
        return 0
    print("%s: %d bytes, format %d.%d, file_id %016x, %d x %d %s" % (m.name, m.size, m.version[0], m.version[1], m.file_id, m.n_rows, m.n_cols, m.value_type))
    for ch in m.chunks:
        print("  chunk %d: offset %d, stored %d, raw %d, codec %s, encoding %d, rows %d..%d" % (
            ch.index, ch.offset, ch.stored_len, ch.raw_len, CODEC_NAMES[ch.codec], ch.encoding, ch.first_row, ch.first_row + ch.n_rows))
    print("  all checksums verified, all chunks decoded")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
