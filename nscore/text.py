"""Name normalization, first-name extraction and the character vocabulary.

Training, export metadata and scoring all go through `normalize` and
`extract_first_names`, which run as Arrow compute kernels so that a batch of
millions of raw names never passes through a Python loop. `normalize_one` is
the same function for a single string.

A first name is the first run of ASCII letters after normalization that is not
a title ("dr", "sra"), a particle ("de", "da", "dos") or a one-letter initial.
When a name holds only such words, the first of them is used.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

NORMALIZATION = "nfkd-ascii-lower/1"
VOCAB = ("<pad>", "<unk>", *"abcdefghijklmnopqrstuvwxyz")
PAD_ID, UNK_ID = 0, 1
LETTER_OFFSET = ord("a") - 2  # maps "a" to token id 2

# Raw values are cut to this many code points before normalization, which
# bounds the work per row, so letters after them are never read. First names
# longer than MAX_FIRST_NAME_LEN letters are not scored (the census's longest
# name has 14 letters).
MAX_RAW_CHARS = 256
MAX_FIRST_NAME_LEN = 32

TITLES = ("dr", "dra", "sr", "sra", "srta", "prof", "profa", "pe", "revdo")
PARTICLES = ("de", "da", "do", "das", "dos", "e", "di", "del", "van", "von")
_SKIPPED = "|".join(TITLES + PARTICLES)
_FIRST_NAME_RE = (
    rf"^[^a-z]*(?:(?:{_SKIPPED}|[a-z])(?:[^a-z]+|$))*(?P<first>[a-z]{{2,}})"
)
_FIRST_WORD_RE = r"(?P<first>[a-z]+)"


def normalize(names: pa.Array | pa.ChunkedArray) -> pa.Array:
    """NFKD-decompose, drop every non-ASCII code point and lower-case.

    "José" becomes "jose" and "Über" becomes "uber". Nulls stay null.
    """
    names = pc.cast(names, pa.string()) if names.type != pa.string() else names
    names = pc.utf8_slice_codeunits(names, 0, MAX_RAW_CHARS)
    names = pc.utf8_normalize(names, form="NFKD")
    names = pc.replace_substring_regex(names, r"[^\x00-\x7f]+", "")
    names = pc.ascii_lower(names)
    # NFKD expands some code points to several letters ("㎒" to "MHz"), so the
    # result is cut to MAX_RAW_CHARS again, which keeps normalize idempotent.
    names = pc.utf8_slice_codeunits(names, 0, MAX_RAW_CHARS)
    if isinstance(names, pa.ChunkedArray):
        names = names.combine_chunks()
    return names


def normalize_one(name: str) -> str:
    """Normalize a single string exactly as `normalize` does."""
    return normalize(pa.array([name], pa.string()))[0].as_py()


def extract_first_names(normalized: pa.Array) -> pa.Array:
    """Return the first name of each normalized value, or null when it has no letters.

    Apostrophes are removed first so that "d'avila" reads as one word.
    """
    words = pc.replace_substring(normalized, "'", "")
    first = pc.struct_field(pc.extract_regex(words, _FIRST_NAME_RE), [0])
    any_word = pc.struct_field(pc.extract_regex(words, _FIRST_WORD_RE), [0])
    return pc.coalesce(first, any_word)


def first_name_one(raw: str) -> str | None:
    """Return the first name of one raw string, as scoring extracts it."""
    return extract_first_names(normalize(pa.array([raw], pa.string())))[0].as_py()


def encode(names: list[str] | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Encode normalized names to right-padded token ids and their lengths.

    Letters a..z become ids 2..27, any other character becomes `<unk>` (1) and
    padding is `<pad>` (0). Returns tokens (batch, max_len) int64 and lengths
    (batch,) int64. An empty name gets one `<unk>` token so that every row has
    a length of at least one.
    """
    array = pa.array(names, pa.string()) if not isinstance(names, pa.Array) else names
    array = array.cast(pa.string())
    offsets = np.frombuffer(array.buffers()[1], np.int32)[
        array.offset : array.offset + len(array) + 1
    ]
    data = (
        np.frombuffer(array.buffers()[2], np.uint8)
        if len(array)
        else np.zeros(0, np.uint8)
    )
    lengths = np.diff(offsets).astype(np.int64)
    max_len = max(int(lengths.max(initial=0)), 1)
    positions = np.arange(max_len)
    inside = positions[None, :] < lengths[:, None]
    gather = np.where(inside, offsets[:-1, None] + positions[None, :], 0)
    chars = data[gather] if data.size else np.zeros(gather.shape, np.uint8)
    ids = chars.astype(np.int64) - LETTER_OFFSET
    ids = np.where((ids >= 2) & (ids <= 27), ids, UNK_ID)
    tokens = np.where(inside, ids, PAD_ID)
    empty = lengths == 0
    tokens[empty, 0] = UNK_ID
    return tokens, np.maximum(lengths, 1)
