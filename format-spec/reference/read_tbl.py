#!/usr/bin/python3
"""Reference reader for slaf table files (.tbl), format version 1.x.

Written from format-spec/README.md alone (§2 container, §3 encodings, §7
table file), for clarity rather than speed: every check names the section
that requires it, in the order of §7.11, §7.2-§7.4 and §7.7. It decodes a
whole .tbl file, verifies every chunk and its zone map (§7.8), and returns
the columns with None for null rows.

Also home of `open_container`, the checks of §2.7 steps 1-4 shared by every
file kind (read_dense.py uses it).

Usage:
  read_tbl.py FILE           verify everything and print a summary
  read_tbl.py FILE --json    print the decoded table as JSON, with the keys
                             of format-spec/golden/table_*.json

Exit status as read_seg.py: 0 valid; 1 corrupt; 2 not supported;
3 unavailable (a codec or XXH3-64 missing from this Python); 64 usage error.
Needs Python 3 and numpy; checksums and codecs come from read_seg.py's
loaders (xxhash/zstandard/lz4 modules, else libxxhash/libzstd/liblz4 through
ctypes).
"""

import json
import math
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from read_seg import (  # noqa: E402  (shared §1.1 errors, §3 encodings)
    BLOCK_VALUES, CODEC_NAMES, GOLDEN_RATIO_64, HEADER_SIZE, MAGIC, MAJOR, TAIL_SIZE, U64,
    Corruption, NotSupported, SegmentError, Unavailable, chunk_seed, decode_block_stream, decompress,
    hexbytes, u16, u32, u64, xxh3_64)

KIND_TABL = b"TABL"                   # §1.2, §7.1
MIN_FILE_SIZE = 128                   # §2, §7.1
FOOTER_FIXED_SIZE = 64                # §7.2
DESCRIPTOR_FIXED_SIZE = 24            # §7.3
ENTRY_SIZE = 64                       # §7.4
MAX_ROWS = 1 << 40                    # §7.9
MAX_COLUMNS = 1 << 20                 # §7.9
MAX_CATEGORIES = 1 << 31              # §7.9
MAX_CHUNK_ROWS = 1 << 24              # §7.9
MAX_CHUNK_BYTES = 1 << 28             # §7.9

# §7.1 column types; §7.6 encodings known per type.
TYPES = {1: "int64", 2: "float64", 3: "bool", 4: "string", 5: "categorical"}
ENCODINGS = {"int64": (1, 2), "float64": (1, 2), "bool": (1,), "string": (1,), "categorical": (1,)}
HAS_MINMAX = 0x01                     # §7.4 zone_flags bit 0

_ = (BLOCK_VALUES, GOLDEN_RATIO_64, U64)  # re-exported for readers of this module


def i64(b, o): return struct.unpack_from("<q", b, o)[0]
def f64(b, o): return struct.unpack_from("<d", b, o)[0]


# --- §2.7 steps 1-4: the container shared by every kind -------------------------

class Container:
    pass


def open_container(path, kind, kind_text):
    """Reads a file and checks size, header, tail and footer checksum
    (§2.7 steps 1-4). `kind_text` names the kind in errors."""
    with open(path, "rb") as f:
        data = f.read()
    c = Container()
    c.data, c.name, c.size = data, os.path.basename(path), len(data)

    def at(offset):
        return "%s: offset %d" % (c.name, offset)
    c.at = at
    # Step 1: minimal size (§2).
    if c.size < MIN_FILE_SIZE:
        raise Corruption("%s: file is %d bytes, smaller than the minimal slaf file (128 bytes: header, footer, tail; format-spec §2)" % (c.name, c.size))
    # Step 2: header (§2.1): magic, kind, major, checksum, flags.
    if data[0:4] != MAGIC:
        raise Corruption("%s: expected magic \"SLAF\" (53 4c 41 46), found %s (format-spec §2.1)" % (at(0), hexbytes(data[0:4])))
    if data[4:8] != kind:
        raise NotSupported("%s: file kind %s is not %s (format-spec §1.2)" % (at(4), hexbytes(data[4:8]), kind_text))
    major, minor = u16(data, 8), u16(data, 10)
    if major != MAJOR:
        raise NotSupported("%s: format major version %d, this reader supports %d (format-spec §1.3)" % (at(8), major, MAJOR))
    stored, computed = u64(data, 24), xxh3_64(data[0:24], 0)
    if stored != computed:
        raise Corruption("%s: header checksum mismatch: stored %016x, computed %016x (format-spec §2.1)" % (at(24), stored, computed))
    if u32(data, 12) != 0:
        raise Corruption("%s: reserved flags must be 0, found %d (format-spec §2.1)" % (at(12), u32(data, 12)))
    c.file_id, c.header_minor = u64(data, 16), minor
    # Step 3: tail (§2.5).
    base = c.size - TAIL_SIZE
    if data[base + 28:base + 32] != MAGIC:
        raise Corruption("%s: expected tail magic \"SLAF\" (53 4c 41 46), found %s; the file may be truncated (format-spec §2.5)" % (at(base + 28), hexbytes(data[base + 28:])))
    tail_major, c.tail_minor = u16(data, base + 24), u16(data, base + 26)
    if tail_major != MAJOR:
        raise NotSupported("%s: format major version %d, this reader supports %d (format-spec §1.3)" % (at(base + 24), tail_major, MAJOR))
    fo, flen, fsum = u64(data, base), u64(data, base + 8), u64(data, base + 16)
    if fo < HEADER_SIZE or fo > base or flen != base - fo:
        raise Corruption("%s: footer at offset %d with length %d does not end at the tail (offset %d) (format-spec §2.5)" % (at(base), fo, flen, base))
    if flen < FOOTER_FIXED_SIZE:
        raise Corruption("%s: footer length %d is below the fixed part's 64 bytes (format-spec §2.5)" % (at(base + 8), flen))
    # Step 4: footer checksum, before any footer field is used.
    c.footer_offset, c.footer_len = fo, flen
    c.footer = data[fo:fo + flen]
    computed = xxh3_64(c.footer, fo)
    if computed != fsum:
        raise Corruption("%s: footer checksum mismatch: tail says %016x, computed %016x over %d bytes (format-spec §2.5)" % (at(fo), fsum, computed, flen))
    c.version = (tail_major, c.tail_minor)
    return c


def check_ids(c, footer_file_id):
    """§2.3 step 8 / §2.7 step 3: file ids and minor versions agree."""
    if footer_file_id != c.file_id:
        raise Corruption("%s: footer file_id %016x does not match the header's %016x (format-spec §2.3)" % (c.at(c.footer_offset), footer_file_id, c.file_id))
    if c.tail_minor != c.header_minor:
        raise Corruption("%s: tail says format minor version %d, header says %d (format-spec §2.5)" % (c.at(c.size - TAIL_SIZE + 26), c.tail_minor, c.header_minor))


def load_chunk(c, index, ch, ctx, section):
    """Checksum then codec (§3.6, §3.5): returns the raw payload."""
    stored = c.data[ch.offset:ch.offset + ch.stored_len]
    computed = xxh3_64(stored, chunk_seed(c.file_id, index))
    if computed != ch.checksum:
        raise Corruption("%s: checksum mismatch: directory says %016x, computed %016x over %d bytes (format-spec §3.6, %s)" % (ctx, ch.checksum, computed, ch.stored_len, section))
    if ch.codec == 0:
        return stored
    try:
        return decompress(ch.codec, stored, ch.raw_len)
    except Corruption as e:
        raise Corruption("%s: %s (format-spec §3.5)" % (ctx, e))


# --- §7.2-§7.4 footer -----------------------------------------------------------

class Column:
    pass


class Chunk:
    pass


class TableFile:
    pass


def bitmap_bytes(n):
    return (n + 7) // 8


def min_block_bytes(n):
    return 2 * (-(-n // BLOCK_VALUES))


def raw_len_rule(type_name, encoding, n, null_count):
    """§7.6: (size, exact) of a chunk's payload."""
    v = bitmap_bytes(n) if null_count else 0
    if type_name == "int64":
        return (v + 8 * n, True) if encoding == 2 else (v + 8 + min_block_bytes(n), False)
    if type_name == "float64":
        return v + 8 * n, True
    if type_name == "bool":
        return v + bitmap_bytes(n), True
    if type_name == "string":
        return v + 4 + min_block_bytes(n), False
    return v + min_block_bytes(n), False  # categorical


def read_table(path):
    """Opens, verifies and fully decodes one table file (§7.11, §7.7, §7.8)."""
    c = open_container(path, KIND_TABL, "\"TABL\" (54 41 42 4c), the column table kind (format-spec §7.1)")
    footer, fo = c.footer, c.footer_offset

    def fat(rel):
        return c.at(fo + rel)

    t = TableFile()
    t.name, t.size, t.file_id, t.version = c.name, c.size, c.file_id, c.version
    # §7.2: fixed part.
    t.n_rows, n_columns, n_chunks, descriptors_len = u64(footer, 8), u32(footer, 16), u32(footer, 20), u32(footer, 24)
    # Step 1: limits.
    if t.n_rows > MAX_ROWS:
        raise Corruption("%s: n_rows %d exceeds the limit 2^40 (format-spec §7.9)" % (fat(8), t.n_rows))
    if n_columns > MAX_COLUMNS:
        raise Corruption("%s: n_columns %d exceeds the limit 2^20 (format-spec §7.9)" % (fat(16), n_columns))
    # Step 2: reserved bytes.
    if any(footer[28:64]):
        raise Corruption("%s: reserved footer bytes 28-63 must be 0 (format-spec §7.2)" % fat(28))
    # Step 3: exact footer length.
    expect = FOOTER_FIXED_SIZE + descriptors_len + ENTRY_SIZE * n_chunks
    if expect != c.footer_len:
        raise Corruption("%s: footer length %d does not match descriptors_len %d and n_chunks %d (expected %d bytes) (format-spec §7.2)" % (fat(20), c.footer_len, descriptors_len, n_chunks, expect))
    # Step 4: descriptors bound the columns.
    if DESCRIPTOR_FIXED_SIZE * n_columns > descriptors_len:
        raise Corruption("%s: %d column descriptors cannot fit in descriptors_len %d (format-spec §7.2)" % (fat(16), n_columns, descriptors_len))
    # Step 5: descriptors (§7.3).
    d_end = FOOTER_FIXED_SIZE + descriptors_len
    q = FOOTER_FIXED_SIZE
    claimed = 0
    t.columns = []
    names = set()
    for ci in range(n_columns):
        who = "column %d: " % ci
        if d_end - q < DESCRIPTOR_FIXED_SIZE:  # §7.3 step 1
            raise Corruption("%s: %sdescriptor needs 24 bytes, %d left (format-spec §7.3)" % (fat(q), who, d_end - q))
        type_id = footer[q]
        if type_id not in TYPES:  # step 2
            raise NotSupported("%s: %sunknown column type %d (format-spec §7.3)" % (fat(q), who, type_id))
        if footer[q + 1] != 0:  # step 3
            raise Corruption("%s: %sreserved descriptor byte must be 0 (format-spec §7.3)" % (fat(q + 1), who))
        col = Column()
        col.index, col.type = ci, TYPES[type_id]
        name_len, n_cat = u16(footer, q + 2), u32(footer, q + 4)
        col.null_count, first, count = u64(footer, q + 8), u32(footer, q + 16), u32(footer, q + 20)
        if name_len == 0 or name_len > d_end - q - DESCRIPTOR_FIXED_SIZE:  # step 4
            raise Corruption("%s: %sname of %d bytes is empty or runs past the descriptors (format-spec §7.3)" % (fat(q + 2), who, name_len))
        col.name = bytes(footer[q + 24:q + 24 + name_len])
        if col.name in names:  # step 5
            raise Corruption("%s: %scolumn name %r appears twice (format-spec §7.3)" % (fat(q + 24), who, col.name))
        names.add(col.name)
        if (n_cat and col.type != "categorical") or n_cat > MAX_CATEGORIES:  # step 6
            raise Corruption("%s: %sn_categories %d not allowed for a %s column (format-spec §7.3)" % (fat(q + 4), who, n_cat, col.type))
        q += DESCRIPTOR_FIXED_SIZE + name_len
        if 4 * n_cat > d_end - q:  # step 7, before allocating
            raise Corruption("%s: %s%d categories cannot fit in the %d descriptor bytes left (format-spec §7.3)" % (fat(q), who, n_cat, d_end - q))
        col.categories = []
        for j in range(n_cat):
            if d_end - q < 4 or u32(footer, q) > d_end - q - 4:
                raise Corruption("%s: %scategory %d runs past the descriptors (format-spec §7.3)" % (fat(q), who, j))
            length = u32(footer, q)
            col.categories.append(bytes(footer[q + 4:q + 4 + length]))
            q += 4 + length
        if len(set(col.categories)) != len(col.categories):  # step 8
            raise Corruption("%s: %sa category appears twice (format-spec §7.3)" % (fat(q), who))
        if col.null_count > t.n_rows:  # step 9
            raise Corruption("%s: %snull_count %d exceeds n_rows %d (format-spec §7.3)" % (fat(q), who, col.null_count, t.n_rows))
        if first != claimed or count > n_chunks - first:  # step 10
            raise Corruption("%s: %schunks [%d, %d) do not follow the previous columns' or run past n_chunks %d (format-spec §7.3)" % (fat(q), who, first, first + count, n_chunks))
        col.first_chunk, col.n_col_chunks = first, count
        claimed = first + count
        t.columns.append(col)
    if q != d_end:
        raise Corruption("%s: column descriptors end %d bytes before descriptors_len (format-spec §7.3)" % (fat(q), d_end - q))
    if claimed != n_chunks:
        raise Corruption("%s: columns hold %d chunks, footer says n_chunks %d (format-spec §7.3)" % (fat(20), claimed, n_chunks))

    # Step 6: directory entries, column by column (§7.4).
    next_offset = HEADER_SIZE
    for col in t.columns:
        col.chunks = []
        next_row, nulls = 0, 0
        for k in range(col.n_col_chunks):
            i = col.first_chunk + k
            rel = d_end + ENTRY_SIZE * i
            e = footer[rel:rel + ENTRY_SIZE]
            who = "column %d: chunk %d: " % (col.index, i)
            ch = Chunk()
            ch.index = i
            ch.offset, ch.stored_len, ch.raw_len = u64(e, 0), u32(e, 8), u32(e, 12)
            ch.first_row, ch.n_rows, ch.null_count, column = u64(e, 16), u32(e, 24), u32(e, 28), u32(e, 32)
            ch.codec, ch.encoding, zone = e[36], e[37], e[38]
            ch.checksum = u64(e, 56)
            if e[39] != 0 or zone & ~HAS_MINMAX:  # step 1
                raise Corruption("%s: %sreserved zone_flags bits and byte 39 must be 0 (format-spec §7.4)" % (fat(rel + 38), who))
            if ch.offset != next_offset:  # step 2
                raise Corruption("%s: %soffset %d, expected %d (chunks are contiguous, format-spec §7.4)" % (fat(rel), who, ch.offset, next_offset))
            if ch.stored_len > MAX_CHUNK_BYTES or ch.raw_len > MAX_CHUNK_BYTES:  # step 3
                raise Corruption("%s: %slength over the 256 MiB limit (format-spec §7.9)" % (fat(rel + 8), who))
            if ch.stored_len > fo - ch.offset:  # step 4
                raise Corruption("%s: %sruns past the footer at offset %d (format-spec §7.4)" % (fat(rel + 8), who, fo))
            if column != col.index:  # step 5
                raise Corruption("%s: %scolumn %d, expected %d (format-spec §7.4)" % (fat(rel + 32), who, column, col.index))
            if ch.first_row != next_row:  # step 6
                raise Corruption("%s: %sfirst_row %d, expected %d (format-spec §7.4)" % (fat(rel + 16), who, ch.first_row, next_row))
            if not 1 <= ch.n_rows <= MAX_CHUNK_ROWS:  # step 7
                raise Corruption("%s: %sn_rows %d outside 1..2^24 (format-spec §7.9)" % (fat(rel + 24), who, ch.n_rows))
            if ch.null_count > ch.n_rows:  # step 8
                raise Corruption("%s: %snull_count %d exceeds n_rows %d (format-spec §7.4)" % (fat(rel + 28), who, ch.null_count, ch.n_rows))
            if ch.codec not in CODEC_NAMES:  # step 9
                raise NotSupported("%s: %sunknown codec id %d (format-spec §3.5)" % (fat(rel + 36), who, ch.codec))
            if ch.encoding not in ENCODINGS[col.type]:  # step 10
                raise NotSupported("%s: %sunknown encoding %d for a %s column (format-spec §7.6)" % (fat(rel + 37), who, ch.encoding, col.type))
            # Step 11: zone map well formed.
            ch.has_minmax = bool(zone & HAS_MINMAX)
            ch.min = ch.max = None
            if not ch.has_minmax:
                if any(e[40:56]):
                    raise Corruption("%s: %smin and max must be 0 without has_minmax (format-spec §7.4)" % (fat(rel + 40), who))
                if col.type in ("int64", "bool", "categorical") and ch.null_count < ch.n_rows:
                    raise Corruption("%s: %shas_minmax must be set: the chunk has non-null values (format-spec §7.4)" % (fat(rel + 38), who))
            else:
                if col.type == "float64":
                    ch.min, ch.max = f64(e, 40), f64(e, 48)
                    ok = not math.isnan(ch.min) and not math.isnan(ch.max) and ch.min <= ch.max
                else:
                    ch.min, ch.max = i64(e, 40), i64(e, 48)
                    ok = ch.min <= ch.max
                    if col.type == "bool":
                        ok = ok and 0 <= ch.min and ch.max <= 1
                    if col.type == "categorical":
                        ok = ok and 0 <= ch.min and ch.max < len(col.categories)
                if col.type == "string" or ch.null_count == ch.n_rows or not ok:
                    raise Corruption("%s: %sinvalid zone map (format-spec §7.4)" % (fat(rel + 40), who))
            # Step 12: raw_len holds n_rows.
            size, exact = raw_len_rule(col.type, ch.encoding, ch.n_rows, ch.null_count)
            if (ch.raw_len != size) if exact else (ch.raw_len < size):
                raise Corruption("%s: %sraw_len %d cannot hold %d rows in encoding %d (%s %d bytes) (format-spec §7.4)" % (fat(rel + 12), who, ch.raw_len, ch.n_rows, ch.encoding, "exactly" if exact else "at least", size))
            # Step 13: codec bounds.
            if ch.codec == 0 and ch.raw_len != ch.stored_len:
                raise Corruption("%s: %suncompressed chunk has stored_len %d != raw_len %d (format-spec §7.4)" % (fat(rel + 8), who, ch.stored_len, ch.raw_len))
            if ch.codec == 2 and ch.raw_len > 255 * ch.stored_len:
                raise Corruption("%s: %slz4 block of %d bytes cannot decode to raw_len %d (format-spec §3.5)" % (fat(rel + 12), who, ch.stored_len, ch.raw_len))
            next_offset = ch.offset + ch.stored_len
            next_row += ch.n_rows
            nulls += ch.null_count
            col.chunks.append(ch)
        if next_row != t.n_rows:
            raise Corruption("%s: column %d: chunks hold %d rows, footer says n_rows %d (format-spec §7.4)" % (fat(8), col.index, next_row, t.n_rows))
        if nulls != col.null_count:
            raise Corruption("%s: column %d: chunks hold %d null rows, descriptor says null_count %d (format-spec §7.3)" % (fat(64), col.index, nulls, col.null_count))
    # Step 7: the chunks fill the chunks region.
    if next_offset != fo:
        raise Corruption("%s: chunks end at offset %d but the footer starts at %d (format-spec §7.4)" % (fat(0), next_offset, fo))
    # Step 8: ids and minor versions.
    check_ids(c, u64(footer, 0))

    # §7.7 and §7.8: every chunk.
    for col in t.columns:
        col.values = []
        for ch in col.chunks:
            col.values.extend(decode_column_chunk(c, col, ch))
    return t


# --- §7.5-§7.8 column chunks --------------------------------------------------------

def decode_column_chunk(c, col, ch):
    """Returns the chunk's n_rows values (None for null rows)."""
    ctx = "%s: column %d %r: chunk %d at offset %d" % (c.name, col.index, col.name.decode("utf-8", "replace"), ch.index, ch.offset)
    p = load_chunk(c, ch.index, ch, ctx, "§7.7")  # steps 1, 2
    n = ch.n_rows

    def bad(what):
        return Corruption("%s: %s" % (ctx, what))

    # Step 3: validity bitmap (§7.5).
    valid = [True] * n
    v = 0
    if ch.null_count:
        v = bitmap_bytes(n)
        if n % 8 and p[v - 1] >> (n % 8):
            raise bad("unused bits of the validity bitmap must be 0 (format-spec §7.5)")
        valid = [bool((p[r >> 3] >> (r & 7)) & 1) for r in range(n)]
        if valid.count(False) != ch.null_count:
            raise bad("validity bitmap has %d null rows, directory says null_count %d (format-spec §7.5)" % (valid.count(False), ch.null_count))
    values = p[v:]

    def where(off):
        return "%s: payload offset %d" % (ctx, v + off)

    def stream(start, end, count, what):
        vals, used = decode_block_stream(values, start, end, count, where)
        if used != end - start:
            raise bad("%s stream holds %d bytes of blocks but %d bytes are left for it (format-spec §7.6)" % (what, used, end - start))
        return vals

    # Step 4: values (§7.6); zero stands for each row's stored slot.
    if col.type == "int64":
        if ch.encoding == 2:
            slots = list(struct.unpack_from("<%dq" % n, values, 0))
            zero_slot = [x == 0 for x in slots]
        else:
            base = u64(values, 0)
            deltas = stream(8, len(values), n, "int64")
            zero_slot = [d == 0 for d in deltas]
            slots = [((base + d) & U64) - ((((base + d) & U64) >> 63) << 64) for d in deltas]
    elif col.type == "float64":
        raw = bytes(values)
        if ch.encoding == 2:
            raw = bytes(raw[b * n + r] for r in range(n) for b in range(8))
        slots = list(struct.unpack_from("<%dd" % n, raw, 0))
        zero_slot = [raw[8 * r:8 * r + 8] == bytes(8) for r in range(n)]
    elif col.type == "bool":
        if n % 8 and values[-1] >> (n % 8):
            raise bad("unused bits of the bool bitmap must be 0 (format-spec §7.6)")
        slots = [bool((values[r >> 3] >> (r & 7)) & 1) for r in range(n)]
        zero_slot = [not x for x in slots]
    elif col.type == "string":
        lengths_len = u32(values, 0)
        if 4 + lengths_len > len(values):
            raise bad("lengths_len %d runs past the payload (format-spec §7.6)" % lengths_len)
        lengths = stream(4, 4 + lengths_len, n, "string length")
        chars = bytes(values[4 + lengths_len:])
        if sum(lengths) != len(chars):
            raise bad("string lengths add up to %d bytes, %d bytes follow them (format-spec §7.6)" % (sum(lengths), len(chars)))
        slots, pos = [], 0
        for length in lengths:
            slots.append(chars[pos:pos + length])
            pos += length
        zero_slot = [length == 0 for length in lengths]
    else:  # categorical
        slots = stream(0, len(values), n, "categorical code")
        zero_slot = [x == 0 for x in slots]
        for r in range(n):
            if valid[r] and slots[r] >= len(col.categories):
                raise bad("row %d: code %d is not below the %d categories (format-spec §7.6)" % (ch.first_row + r, slots[r], len(col.categories)))
    # Step 5: null slots hold zero (§7.5).
    for r in range(n):
        if not valid[r] and not zero_slot[r]:
            raise bad("row %d is null but its value slot is not zero (format-spec §7.5)" % (ch.first_row + r))
    out = [slots[r] if valid[r] else None for r in range(n)]
    # §7.8 step 6: the zone map equals the decoded rows.
    check_zone_map(col, ch, out, bad)
    return out


def check_zone_map(col, ch, out, bad):
    present = [x for x in out if x is not None]
    if col.type == "float64":
        present = [x for x in present if not math.isnan(x)]
    if col.type == "string":
        present = []
    want = bool(present)
    if col.type in ("bool",):
        present = [int(x) for x in present]
    same = ch.has_minmax == want and (not want or (min(present) == ch.min and max(present) == ch.max))
    if not same:
        raise bad("zone map in the directory differs from the decoded values (format-spec §7.4)")


# --- command line ----------------------------------------------------------------

def json_value(col, x):
    if x is None:
        return None
    if col.type == "float64":
        if math.isnan(x):
            return "NaN"
        if math.isinf(x):
            return "Infinity" if x > 0 else "-Infinity"
        return x
    if col.type == "string":
        return x.decode("utf-8", "surrogateescape")
    return x


def to_json(t):
    cols = []
    for col in t.columns:
        d = {"name": col.name.decode("utf-8", "surrogateescape"), "type": col.type, "null_count": col.null_count}
        if col.type == "categorical":
            d["categories"] = [x.decode("utf-8", "surrogateescape") for x in col.categories]
            d["codes"] = col.values
        else:
            d["values"] = [json_value(col, x) for x in col.values]
        cols.append(d)
    return json.dumps({"file": t.name, "n_rows": t.n_rows, "columns": cols}, ensure_ascii=False)


def main(argv):
    if len(argv) not in (2, 3) or (len(argv) == 3 and argv[2] != "--json"):
        sys.stderr.write("usage: read_tbl.py FILE [--json]\n")
        return 64
    try:
        t = read_table(argv[1])
    except SegmentError as e:
        kind = {1: "corrupt", 2: "not supported", 3: "unavailable"}[e.exit_status]
        sys.stderr.write("read_tbl: %s: %s\n" % (kind, e))
        return e.exit_status
    if len(argv) == 3:
        print(to_json(t))
        return 0
    print("%s: %d bytes, format %d.%d, file_id %016x, %d rows, %d columns" % (t.name, t.size, t.version[0], t.version[1], t.file_id, t.n_rows, len(t.columns)))
    for col in t.columns:
        print("  %s: %s, %d nulls, %d chunks%s" % (col.name.decode("utf-8", "replace"), col.type, col.null_count, len(col.chunks),
                                                  ", %d categories" % len(col.categories) if col.type == "categorical" else ""))
        for ch in col.chunks:
            print("    chunk %d: offset %d, stored %d, raw %d, codec %s, encoding %d, rows %d..%d, nulls %d%s" % (
                ch.index, ch.offset, ch.stored_len, ch.raw_len, CODEC_NAMES[ch.codec], ch.encoding, ch.first_row, ch.first_row + ch.n_rows,
                ch.null_count, ", min %r max %r" % (ch.min, ch.max) if ch.has_minmax else ""))
    print("  all checksums verified, all chunks decoded, zone maps checked")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
