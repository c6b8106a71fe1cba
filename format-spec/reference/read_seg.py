#!/usr/bin/python3
"""Reference reader for slaf segment files, format version 1.x.

Written from format-spec/README.md alone, for clarity rather than speed:
every check names the section that requires it, in the order of §2.7 and
§4.5. It decodes a whole .seg file into CSR arrays (indptr, indices, values)
with original column ids (§4.4).

Usage:
  read_seg.py FILE           verify everything and print a summary
  read_seg.py FILE --json    print the decoded matrix as JSON, with the keys
                             of format-spec/golden/*.json

Exit status: 0 valid; 1 corrupt (the file breaks a MUST of the spec);
2 not supported (a version, kind or enumerated value this reader does not
implement, §1.3); 3 unavailable (a codec or the checksum function is missing
from this Python installation); 64 usage error.

Needs Python 3 and numpy. XXH3-64 (§3.6) comes from the `xxhash` module when
installed, else from Debian's libxxhash.so.0 through ctypes. zstd and lz4
(§3.5) come from the `zstandard` and `lz4` modules, else from libzstd.so.1 and
liblz4.so.1 through ctypes. SLAF_REFERENCE_CODECS=module|ctypes|none limits
where codecs may come from (default: both); `none` exercises the "codec not
available" path.
"""

import ctypes
import json
import os
import struct
import sys

import numpy as np

# --- Errors (§1.1) ---------------------------------------------------------


class SegmentError(Exception):
    exit_status = 1


class Corruption(SegmentError):
    """The file breaks a MUST of the spec."""
    exit_status = 1


class NotSupported(SegmentError):
    """Valid-looking, but uses something this reader does not implement."""
    exit_status = 2


class Unavailable(SegmentError):
    """The file may be fine; this Python lacks a codec or XXH3-64."""
    exit_status = 3


# --- Constants of the spec ---------------------------------------------------

MAGIC = b"SLAF"                       # §2.1, §2.5
KIND_XCSR = b"XCSR"                   # §1.2
MAJOR = 1                             # §1.3: the major version implemented
HEADER_SIZE = 32                      # §2.1
TAIL_SIZE = 32                        # §2.5
FOOTER_FIXED_SIZE = 64                # §2.3
DIR_ENTRY_SIZE = 80                   # §2.4
CHUNK_HEADER_SIZE = 16                # §4.2
MIN_FILE_SIZE = HEADER_SIZE + FOOTER_FIXED_SIZE + TAIL_SIZE  # §2: 128
MAX_ROWS = 1 << 40                    # §2.6
MAX_COLS = 1 << 31                    # §2.6
MAX_CHUNK_BYTES = 1 << 28             # §2.6: 256 MiB
MAX_CHUNK_ROWS = 1 << 24              # §2.6
MAX_CHUNK_NNZ = 1 << 26               # §2.6
BLOCK_VALUES = 128                    # §3.2
GOLDEN_RATIO_64 = 0x9E3779B97F4A7C15  # §3.6
U64 = (1 << 64) - 1

CODEC_NAMES = {0: "none", 1: "zstd", 2: "lz4"}  # §3.5
VALUE_TYPES = {1: "uint32", 2: "float32"}       # §4.1
ENC_COUNTS_MINUS_ONE, ENC_COUNTS_PLAIN, ENC_FLOAT_PLAIN, ENC_FLOAT_SHUFFLED = 1, 2, 3, 4  # §4.3


def u16(b, o): return struct.unpack_from("<H", b, o)[0]
def u32(b, o): return struct.unpack_from("<I", b, o)[0]
def u64(b, o): return struct.unpack_from("<Q", b, o)[0]
def f64(b, o): return struct.unpack_from("<d", b, o)[0]
def hexbytes(b): return " ".join("%02x" % x for x in b)


# --- §3.6 checksums: XXH3-64 with a seed ---------------------------------------

def _load_xxh3():
    try:
        import xxhash
        return lambda data, seed: xxhash.xxh3_64_intdigest(bytes(data), seed=seed)
    except ImportError:
        pass
    for name in ("libxxhash.so.0", "libxxhash.so"):
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        fn = lib.XXH3_64bits_withSeed
        fn.restype = ctypes.c_uint64
        fn.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint64]
        return lambda data, seed: fn(bytes(data), len(data), seed)
    return None


_XXH3 = _load_xxh3()


def xxh3_64(data, seed):
    if _XXH3 is None:
        raise Unavailable("XXH3-64 not available in this Python (neither the xxhash module nor libxxhash.so.0)")
    return _XXH3(data, seed & U64)


def chunk_seed(file_id, index):
    """§3.6: file_id XOR ((index + 1) * 0x9E3779B97F4A7C15 mod 2^64)."""
    return file_id ^ (((index + 1) * GOLDEN_RATIO_64) & U64)


# --- §3.5 general-purpose codecs ----------------------------------------------

def _codec_sources():
    return os.environ.get("SLAF_REFERENCE_CODECS", "module,ctypes").replace("none", "").split(",")


def _zstd_decompress_fn():
    sources = _codec_sources()
    if "module" in sources:
        try:
            import zstandard

            def via_module(data, raw_len):
                declared = zstandard.frame_content_size(data)
                if declared < 0:
                    raise Corruption("zstd frame does not declare its content size (format-spec §3.5)")
                if declared != raw_len:
                    raise Corruption("zstd frame declares %d bytes, expected raw_len %d" % (declared, raw_len))
                out = zstandard.ZstdDecompressor().decompress(data, max_output_size=raw_len)
                return out
            return via_module
        except ImportError:
            pass
    if "ctypes" in sources:
        try:
            lib = ctypes.CDLL("libzstd.so.1")
        except OSError:
            return None
        lib.ZSTD_getFrameContentSize.restype = ctypes.c_ulonglong
        lib.ZSTD_getFrameContentSize.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
        lib.ZSTD_decompress.restype = ctypes.c_size_t
        lib.ZSTD_decompress.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]
        lib.ZSTD_isError.restype = ctypes.c_uint
        lib.ZSTD_isError.argtypes = [ctypes.c_size_t]
        content_size_unknown, content_size_error = U64, U64 - 1

        def via_ctypes(data, raw_len):
            declared = lib.ZSTD_getFrameContentSize(data, len(data))
            if declared == content_size_error:
                raise Corruption("not a valid zstd frame")
            if declared == content_size_unknown:
                raise Corruption("zstd frame does not declare its content size (format-spec §3.5)")
            if declared != raw_len:
                raise Corruption("zstd frame declares %d bytes, expected raw_len %d" % (declared, raw_len))
            out = ctypes.create_string_buffer(max(raw_len, 1))
            n = lib.ZSTD_decompress(out, raw_len, data, len(data))
            if lib.ZSTD_isError(n):
                raise Corruption("zstd frame does not decode (zstd error %d)" % (U64 + 1 - n))
            return out.raw[:n]
        return via_ctypes
    return None


def _lz4_decompress_fn():
    sources = _codec_sources()
    if "module" in sources:
        try:
            import lz4.block

            def via_module(data, raw_len):
                try:
                    return lz4.block.decompress(data, uncompressed_size=raw_len)
                except lz4.block.LZ4BlockError as e:
                    raise Corruption("lz4 block does not decode to %d bytes (%s)" % (raw_len, e))
            return via_module
        except ImportError:
            pass
    if "ctypes" in sources:
        try:
            lib = ctypes.CDLL("liblz4.so.1")
        except OSError:
            return None
        lib.LZ4_decompress_safe.restype = ctypes.c_int
        lib.LZ4_decompress_safe.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int]

        def via_ctypes(data, raw_len):
            out = ctypes.create_string_buffer(max(raw_len, 1))
            n = lib.LZ4_decompress_safe(data, out, len(data), raw_len)
            if n < 0:
                raise Corruption("lz4 block does not decode within %d bytes" % raw_len)
            return out.raw[:n]
        return via_ctypes
    return None


_DECOMPRESSORS = {}


def decompress(codec, stored, raw_len):
    """§3.5: returns exactly raw_len bytes or raises."""
    if codec not in _DECOMPRESSORS:
        _DECOMPRESSORS[codec] = {1: _zstd_decompress_fn, 2: _lz4_decompress_fn}[codec]()
    fn = _DECOMPRESSORS[codec]
    if fn is None:
        raise Unavailable("codec %s not available in this Python" % CODEC_NAMES[codec])
    if codec == 2 and raw_len > 255 * len(stored):
        raise Corruption("lz4 block of %d bytes cannot decode to %d bytes (format-spec §3.5)" % (len(stored), raw_len))
    raw = fn(bytes(stored), raw_len)
    if len(raw) != raw_len:
        raise Corruption("%s payload decoded to %d bytes, expected raw_len %d" % (CODEC_NAMES[codec], len(raw), raw_len))
    return raw


# --- §3.1 bit-packing and §3.2 patched blocks ---------------------------------

def packed_bytes(n, w):
    """§3.1: ceil(n * w / 8)."""
    return (n * w + 7) // 8


def unpack_bits(buf, pos, n, w):
    """§3.1: value i is bits [i*w, (i+1)*w) of the little-endian bit stream,
    i.e. of the run read as one little-endian integer."""
    if w == 0:
        return [0] * n
    run = int.from_bytes(buf[pos:pos + packed_bytes(n, w)], "little")
    mask = (1 << w) - 1
    return [(run >> (i * w)) & mask for i in range(n)]


def decode_block_stream(buf, start, end, n, where):
    """§3.2: decodes n values from buf[start:end]; returns (values, bytes used).
    `where(offset)` gives the file position text for errors."""
    n_blocks = -(-n // BLOCK_VALUES)
    # §2.6: every block takes at least 2 bytes; refuse before allocating.
    if 2 * n_blocks > end - start:
        raise Corruption("%s: %d bytes cannot hold %d values (%d blocks of at least 2 bytes) (format-spec §3.2)" % (where(start), end - start, n, n_blocks))
    out = []
    p = start
    for first in range(0, n, BLOCK_VALUES):
        m = min(BLOCK_VALUES, n - first)
        if end - p < 2:
            raise Corruption("%s: block header needs 2 bytes, %d left (format-spec §3.2)" % (where(p), end - p))
        w, e = buf[p], buf[p + 1]
        if w > 32:
            raise Corruption("%s: bit width %d > 32 (format-spec §3.2)" % (where(p), w))
        if e > m:
            raise Corruption("%s: exception count %d > block length %d (format-spec §3.2)" % (where(p + 1), e, m))
        header, xw = 2, 0
        if e > 0:
            if end - p < 3:
                raise Corruption("%s: missing exception width byte (format-spec §3.2)" % where(p + 2))
            xw = buf[p + 2]
            if xw < 1 or w + xw > 32:
                raise Corruption("%s: exception width %d invalid with low width %d (format-spec §3.2)" % (where(p + 2), xw, w))
            header = 3
        lows_len = packed_bytes(m, w)
        total = header + lows_len + e + packed_bytes(e, xw)
        if total > end - p:
            raise Corruption("%s: block needs %d bytes, %d left (format-spec §3.2)" % (where(p), total, end - p))
        values = unpack_bits(buf, p + header, m, w)
        pos_at = p + header + lows_len
        positions = buf[pos_at:pos_at + e]
        highs = unpack_bits(buf, pos_at + e, e, xw)
        prev = -1
        for j in range(e):
            if positions[j] <= prev or positions[j] >= m:
                raise Corruption("%s: exception position %d not increasing or >= %d (format-spec §3.2)" % (where(pos_at + j), positions[j], m))
            prev = positions[j]
            values[prev] |= highs[j] << w  # low < 2^w and w + xw <= 32
        out.extend(values)
        p += total
    return out, p - start


# --- §2 container --------------------------------------------------------------

class Chunk:
    pass


class Segment:
    pass


def read_segment(path):
    """Opens, verifies and fully decodes one segment file (§2.7, §4.5)."""
    with open(path, "rb") as f:
        data = f.read()
    name = os.path.basename(path)
    size = len(data)

    def at(offset):
        return "%s: offset %d" % (name, offset)

    # §2.7 step 1: minimal size.
    if size < MIN_FILE_SIZE:
        raise Corruption("%s: file is %d bytes, smaller than the minimal segment (128 bytes: header, footer, tail; format-spec §2)" % (name, size))

    # §2.7 step 2: header (§2.1): magic, kind, major, checksum, flags.
    if data[0:4] != MAGIC:
        raise Corruption("%s: expected magic \"SLAF\" (53 4c 41 46), found %s (format-spec §2.1)" % (at(0), hexbytes(data[0:4])))
    if data[4:8] != KIND_XCSR:
        raise NotSupported("%s: file kind %s is not \"XCSR\" (format-spec §1.2)" % (at(4), hexbytes(data[4:8])))
    major, minor = u16(data, 8), u16(data, 10)
    if major != MAJOR:
        raise NotSupported("%s: format major version %d, this reader supports %d (format-spec §1.3)" % (at(8), major, MAJOR))
    stored, computed = u64(data, 24), xxh3_64(data[0:24], 0)
    if stored != computed:
        raise Corruption("%s: header checksum mismatch: stored %016x, computed %016x (format-spec §2.1)" % (at(24), stored, computed))
    if u32(data, 12) != 0:
        raise Corruption("%s: reserved flags must be 0, found %d (format-spec §2.1)" % (at(12), u32(data, 12)))
    file_id = u64(data, 16)

    # §2.7 step 3: tail (§2.5): magic, major, footer bounds, footer length.
    base = size - TAIL_SIZE
    if data[base + 28:base + 32] != MAGIC:
        raise Corruption("%s: expected tail magic \"SLAF\" (53 4c 41 46), found %s; the file may be truncated (format-spec §2.5)" % (at(base + 28), hexbytes(data[base + 28:])))
    tail_major, tail_minor = u16(data, base + 24), u16(data, base + 26)
    if tail_major != MAJOR:
        raise NotSupported("%s: format major version %d, this reader supports %d (format-spec §1.3)" % (at(base + 24), tail_major, MAJOR))
    footer_offset, footer_len, footer_checksum = u64(data, base), u64(data, base + 8), u64(data, base + 16)
    if footer_offset < HEADER_SIZE or footer_offset > base or footer_len != base - footer_offset:
        raise Corruption("%s: footer at offset %d with length %d does not end at the tail (offset %d) (format-spec §2.5)" % (at(base), footer_offset, footer_len, base))
    if footer_len < FOOTER_FIXED_SIZE:
        raise Corruption("%s: footer length %d is below the fixed part's 64 bytes (format-spec §2.3)" % (at(base + 8), footer_len))

    # §2.7 step 4: footer checksum before any footer field is used.
    footer = data[footer_offset:footer_offset + footer_len]
    computed = xxh3_64(footer, footer_offset)
    if computed != footer_checksum:
        raise Corruption("%s: footer checksum mismatch: tail says %016x, computed %016x over %d bytes (format-spec §2.5)" % (at(footer_offset), footer_checksum, computed, footer_len))

    # §2.7 step 5: footer fixed part (§2.3).
    def fat(rel):
        return at(footer_offset + rel)
    seg = Segment()
    seg.name, seg.size, seg.file_id = name, size, file_id
    seg.version = (tail_major, tail_minor)
    seg.header_version = (major, minor)
    seg.footer_offset, seg.footer_len = footer_offset, footer_len
    seg.n_rows, seg.n_cols = u64(footer, 8), u32(footer, 16)
    value_type, col_order, n_chunks = footer[20], footer[21], u32(footer, 24)
    seg.nnz, seg.sum = u64(footer, 32), f64(footer, 40)
    if seg.n_rows > MAX_ROWS:
        raise Corruption("%s: n_rows %d exceeds the limit 2^40 (format-spec §2.6)" % (fat(8), seg.n_rows))
    if seg.n_cols > MAX_COLS:
        raise Corruption("%s: n_cols %d exceeds the limit 2^31 (format-spec §2.6)" % (fat(16), seg.n_cols))
    if value_type not in VALUE_TYPES:
        raise NotSupported("%s: unknown value_type %d (format-spec §2.3, §4.1)" % (fat(20), value_type))
    if col_order > 1:
        raise NotSupported("%s: unknown col_order %d (format-spec §2.3)" % (fat(21), col_order))
    if any(footer[22:24]) or any(footer[28:32]) or any(footer[48:64]):
        raise Corruption("%s: reserved footer bytes must be 0 (format-spec §2.3)" % fat(22))
    expect = FOOTER_FIXED_SIZE + DIR_ENTRY_SIZE * n_chunks + (4 * seg.n_cols if col_order == 1 else 0)
    if expect != footer_len:
        raise Corruption("%s: footer length %d does not match n_chunks %d and col_order (expected %d bytes) (format-spec §2.3)" % (fat(24), footer_len, n_chunks, expect))
    seg.value_type = VALUE_TYPES[value_type]
    seg.permuted = col_order == 1

    # §2.7 step 6: directory entries (§2.4), in order.
    seg.chunks = []
    next_row, next_offset, nnz = 0, HEADER_SIZE, 0
    for i in range(n_chunks):
        rel = FOOTER_FIXED_SIZE + DIR_ENTRY_SIZE * i
        e = footer[rel:rel + DIR_ENTRY_SIZE]
        c = Chunk()
        c.index = i
        c.offset, c.stored_len, c.raw_len = u64(e, 0), u32(e, 8), u32(e, 12)
        c.first_row, c.n_rows, c.nnz = u64(e, 16), u32(e, 24), u32(e, 28)
        c.min_col, c.max_col = u32(e, 32), u32(e, 36)
        c.min_value, c.max_value, c.sum = f64(e, 40), f64(e, 48), f64(e, 56)
        c.codec, c.value_encoding, c.checksum = e[64], e[65], u64(e, 72)
        what = "chunk %d: " % i
        if any(e[66:72]):
            raise Corruption("%s: %sreserved directory bytes must be 0 (format-spec §2.4)" % (fat(rel + 66), what))
        if c.offset != next_offset:
            raise Corruption("%s: %soffset %d, expected %d (chunks are contiguous, format-spec §2.4)" % (fat(rel), what, c.offset, next_offset))
        if c.stored_len > MAX_CHUNK_BYTES or c.raw_len > MAX_CHUNK_BYTES:
            raise Corruption("%s: %slength over the 256 MiB limit (format-spec §2.6)" % (fat(rel + 8), what))
        if c.stored_len > footer_offset - c.offset:
            raise Corruption("%s: %sruns past the footer at offset %d (format-spec §2.4)" % (fat(rel + 8), what, footer_offset))
        if c.first_row != next_row:
            raise Corruption("%s: %sfirst_row %d, expected %d (format-spec §2.4)" % (fat(rel + 16), what, c.first_row, next_row))
        if c.n_rows == 0 or c.n_rows > MAX_CHUNK_ROWS:
            raise Corruption("%s: %sn_rows %d outside 1..2^24 (format-spec §2.6)" % (fat(rel + 24), what, c.n_rows))
        if c.nnz > MAX_CHUNK_NNZ:
            raise Corruption("%s: %snnz %d over the limit 2^26 (format-spec §2.6)" % (fat(rel + 28), what, c.nnz))
        if c.raw_len < CHUNK_HEADER_SIZE:
            raise Corruption("%s: %sraw_len %d below the 16-byte chunk header (format-spec §4.2)" % (fat(rel + 12), what, c.raw_len))
        if c.codec not in CODEC_NAMES:
            raise NotSupported("%s: %sunknown codec id %d (format-spec §3.5)" % (fat(rel + 64), what, c.codec))
        int_enc = c.value_encoding in (ENC_COUNTS_MINUS_ONE, ENC_COUNTS_PLAIN)
        float_enc = c.value_encoding in (ENC_FLOAT_PLAIN, ENC_FLOAT_SHUFFLED)
        if not int_enc and not float_enc:
            raise NotSupported("%s: %sunknown value_encoding %d (format-spec §4.3)" % (fat(rel + 65), what, c.value_encoding))
        if int_enc != (seg.value_type == "uint32"):
            raise Corruption("%s: %svalue_encoding %d does not match the file's value_type (format-spec §4.3)" % (fat(rel + 65), what, c.value_encoding))
        if c.nnz > 0 and (c.min_col > c.max_col or c.max_col >= seg.n_cols):
            raise Corruption("%s: %scolumn range [%d, %d] invalid for n_cols %d (format-spec §2.4)" % (fat(rel + 32), what, c.min_col, c.max_col, seg.n_cols))
        next_row += c.n_rows
        next_offset = c.offset + c.stored_len
        nnz += c.nnz
        seg.chunks.append(c)

    # §2.7 step 7: totals.
    if next_offset != footer_offset:
        raise Corruption("%s: chunks end at offset %d but the footer starts at %d (format-spec §2.4)" % (fat(0), next_offset, footer_offset))
    if next_row != seg.n_rows:
        raise Corruption("%s: chunks hold %d rows, footer says n_rows %d (format-spec §2.3)" % (fat(8), next_row, seg.n_rows))
    if nnz != seg.nnz:
        raise Corruption("%s: chunks hold %d nonzeros, footer says nnz %d (format-spec §2.3)" % (fat(32), nnz, seg.nnz))

    # §2.7 step 8: column permutation (§4.4).
    seg.stored_to_original = None
    if seg.permuted:
        rel0 = FOOTER_FIXED_SIZE + DIR_ENTRY_SIZE * n_chunks
        table = list(struct.unpack_from("<%dI" % seg.n_cols, footer, rel0))
        seen = bytearray(seg.n_cols)
        for s, orig in enumerate(table):
            if orig >= seg.n_cols or seen[orig]:
                raise Corruption("%s: column permutation entry %d = %d is out of range or repeated (format-spec §4.4)" % (fat(rel0 + 4 * s), s, orig))
            seen[orig] = 1
        seg.stored_to_original = table

    # §2.7 step 9: file_id of footer and header agree.
    if u64(footer, 0) != file_id:
        raise Corruption("%s: footer file_id %016x does not match the header's %016x (format-spec §2.3)" % (fat(0), u64(footer, 0), file_id))
    # §2.7 step 3 (checked last): the tail's minor version equals the header's.
    if tail_minor != minor:
        raise Corruption("%s: tail says format minor version %d, header says %d (format-spec §2.5)" % (at(base + 26), tail_minor, minor))

    # §4.5: every chunk.
    indptr = [0]
    indices = []
    values = []
    for c in seg.chunks:
        rows_nnz, cols, vals = decode_chunk(data, seg, c, name)
        k = 0
        for n in rows_nnz:
            row_cols, row_vals = cols[k:k + n], vals[k:k + n]
            if seg.permuted:  # §4.4: report original ids, increasing.
                pairs = sorted(zip((seg.stored_to_original[s] for s in row_cols), row_vals))
                row_cols, row_vals = [p[0] for p in pairs], [p[1] for p in pairs]
            indices.extend(row_cols)
            values.extend(row_vals)
            k += n
            indptr.append(indptr[-1] + n)
    seg.indptr = np.array(indptr, dtype=np.uint64)
    seg.indices = np.array(indices, dtype=np.uint32)
    seg.values = np.array(values, dtype=np.uint32 if seg.value_type == "uint32" else np.float32)
    return seg


# --- §4 expression chunk -----------------------------------------------------------

def decode_chunk(data, seg, c, name):
    """§4.5: returns (per-row counts, stored column ids, values) of chunk c."""
    ctx = "%s: chunk %d at offset %d" % (name, c.index, c.offset)
    stored = data[c.offset:c.offset + c.stored_len]
    # Step 1: checksum over the stored bytes, before anything else (§3.6).
    computed = xxh3_64(stored, chunk_seed(seg.file_id, c.index))
    if computed != c.checksum:
        raise Corruption("%s: checksum mismatch: directory says %016x, computed %016x over %d bytes (format-spec §3.6)" % (ctx, c.checksum, computed, c.stored_len))
    # Step 2: codec (§3.5).
    if c.codec == 0:
        if c.raw_len != c.stored_len:
            raise Corruption("%s: uncompressed chunk has stored_len %d != raw_len %d (format-spec §2.4)" % (ctx, c.stored_len, c.raw_len))
        p = stored
    else:
        try:
            p = decompress(c.codec, stored, c.raw_len)
        except Corruption as e:
            raise Corruption("%s: %s (format-spec §3.5)" % (ctx, e))

    def where(off):
        return "%s: payload offset %d" % (ctx, off)
    # Step 3: chunk header (§4.2).
    counts_len, cols_len, values_len = u32(p, 0), u32(p, 4), u32(p, 8)
    if u32(p, 12) != 0:
        raise Corruption("%s: reserved field must be 0 (format-spec §4.2)" % where(12))
    if CHUNK_HEADER_SIZE + counts_len + cols_len + values_len != c.raw_len:
        raise Corruption("%s: stream lengths %d + %d + %d + 16 do not add up to raw_len %d (format-spec §4.2)" % (ctx, counts_len, cols_len, values_len, c.raw_len))
    is_float = c.value_encoding in (ENC_FLOAT_PLAIN, ENC_FLOAT_SHUFFLED)
    if is_float and values_len != 4 * c.nnz:
        raise Corruption("%s: float value stream is %d bytes, expected 4 x nnz = %d (format-spec §4.3)" % (ctx, values_len, 4 * c.nnz))
    counts_at = CHUNK_HEADER_SIZE
    cols_at = counts_at + counts_len
    values_at = cols_at + cols_len
    values_end = values_at + values_len
    # Step 4: row counts.
    row_nnz, used = decode_block_stream(p, counts_at, cols_at, c.n_rows, where)
    if used != counts_len:
        raise Corruption("%s: row-count stream holds %d bytes of blocks but counts_len is %d (format-spec §4.2)" % (ctx, used, counts_len))
    if sum(row_nnz) != c.nnz:
        raise Corruption("%s: row counts add up to %d, directory says nnz %d (format-spec §4.2)" % (ctx, sum(row_nnz), c.nnz))
    # Step 5: columns, delta-coded per row (§3.4).
    gaps, used = decode_block_stream(p, cols_at, values_at, c.nnz, where)
    if used != cols_len:
        raise Corruption("%s: column stream holds %d bytes of blocks but cols_len is %d (format-spec §4.2)" % (ctx, used, cols_len))
    cols = []
    k = 0
    for r, n in enumerate(row_nnz):
        x = 0
        for i in range(n):
            x = gaps[k + i] if i == 0 else x + gaps[k + i] + 1
            cols.append(x)
        if n and x >= seg.n_cols:
            raise Corruption("%s: row %d of the chunk has a column id >= n_cols %d (format-spec §4.2)" % (ctx, r, seg.n_cols))
        k += n
    # Step 6: values (§4.3).
    if c.value_encoding in (ENC_COUNTS_MINUS_ONE, ENC_COUNTS_PLAIN):
        vals, used = decode_block_stream(p, values_at, values_end, c.nnz, where)
        if used != values_len:
            raise Corruption("%s: value stream holds %d bytes of blocks but values_len is %d (format-spec §4.2)" % (ctx, used, values_len))
        if c.value_encoding == ENC_COUNTS_MINUS_ONE:
            vals = [(v + 1) & 0xFFFFFFFF for v in vals]
    else:
        raw = bytes(p[values_at:values_end])
        if c.value_encoding == ENC_FLOAT_SHUFFLED:
            # Plane b holds byte b of every value: byte b of value i is at b*nnz + i.
            raw = np.frombuffer(raw, dtype=np.uint8).reshape(4, c.nnz).T.tobytes()
        vals = list(np.frombuffer(raw, dtype="<f4"))
    return row_nnz, cols, vals


# --- command line ----------------------------------------------------------------

def to_json(seg):
    doc = {
        "file": seg.name, "n_rows": seg.n_rows, "n_cols": seg.n_cols, "value_type": seg.value_type,
        "nnz": seg.nnz, "indptr": [int(x) for x in seg.indptr], "indices": [int(x) for x in seg.indices],
        # float(np.float32) is exact; its repr reads back to the same float32.
        "values": [int(v) for v in seg.values] if seg.value_type == "uint32" else [float(v) for v in seg.values],
    }
    return json.dumps(doc)


def main(argv):
    if len(argv) not in (2, 3) or (len(argv) == 3 and argv[2] != "--json"):
        sys.stderr.write("usage: read_seg.py FILE [--json]\n")
        return 64
    try:
        seg = read_segment(argv[1])
    except SegmentError as e:
        kind = {1: "corrupt", 2: "not supported", 3: "unavailable"}[e.exit_status]
        sys.stderr.write("read_seg: %s: %s\n" % (kind, e))
        return e.exit_status
    if len(argv) == 3:
        print(to_json(seg))
        return 0
    print("%s: %d bytes, format %d.%d, file_id %016x" % (seg.name, seg.size, seg.version[0], seg.version[1], seg.file_id))
    print("  %d rows x %d cols, %s, nnz %d, sum %r, col_order %s" % (seg.n_rows, seg.n_cols, seg.value_type, seg.nnz, seg.sum, "permuted" if seg.permuted else "identity"))
    for c in seg.chunks:
        print("  chunk %d: offset %d, stored %d, raw %d, codec %s, encoding %d, rows %d..%d, nnz %d" % (
            c.index, c.offset, c.stored_len, c.raw_len, CODEC_NAMES[c.codec], c.value_encoding, c.first_row, c.first_row + c.n_rows, c.nnz))
    print("  all checksums verified, all chunks decoded")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
