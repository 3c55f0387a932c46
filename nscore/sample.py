"""Generate a synthetic student registry from the census table.

First names are drawn by census frequency, surnames from a list of common
Brazilian surnames; case and accents vary the way real registries do. The
README's first command and the throughput benchmark both use it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nscore.data import load_census
from nscore.score.io import AtomicWriter

SURNAMES = (
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Rodrigues",
    "Ferreira",
    "Alves",
    "Pereira",
    "Lima",
    "Gomes",
    "Costa",
    "Ribeiro",
    "Martins",
    "Carvalho",
    "Almeida",
    "Lopes",
    "Soares",
    "Fernandes",
    "Vieira",
    "Barbosa",
    "Rocha",
    "Dias",
    "Nascimento",
    "Andrade",
    "Moreira",
    "Nunes",
    "Marques",
    "Machado",
    "Mendes",
    "Freitas",
    "Cardoso",
    "Ramos",
    "Gonçalves",
    "Santana",
    "Teixeira",
    "Araújo",
    "Cavalcanti",
    "Magalhães",
    "Conceição",
    "Assunção",
    "Brandão",
    "Falcão",
    "Guimarães",
    "Simões",
    "Figueiredo",
    "Monteiro",
)
PARTICLES = ("", "", "da ", "de ", "dos ")
ACCENTED = {
    "JOSE": "José",
    "JOAO": "João",
    "ANTONIO": "Antônio",
    "MARCIA": "Márcia",
    "LUCIA": "Lúcia",
    "SERGIO": "Sérgio",
    "FABIO": "Fábio",
    "MONICA": "Mônica",
    "PATRICIA": "Patrícia",
    "VITORIA": "Vitória",
    "CONCEICAO": "Conceição",
    "FLAVIA": "Flávia",
    "CLAUDIO": "Cláudio",
    "ANDREIA": "Andréia",
    "MARCIO": "Márcio",
}
SAMPLE_CHUNK_ROWS = 1_000_000


def _raw_first_names() -> np.ndarray:
    """Census first names in upper case, with common accents restored."""
    census = load_census()
    upper = np.array(pc.utf8_upper(census.names).to_pylist(), dtype=object)
    return np.array([ACCENTED.get(n, n) for n in upper], dtype=object)


def registry_table(rows: int, seed: int = 0, start_id: int = 0) -> pa.Table:
    """Return `rows` registry rows: student_id, nome (full name) and enrolled (year)."""
    rng = np.random.default_rng(seed)
    census = load_census()
    people = census.female + census.male
    firsts = _raw_first_names()[rng.choice(len(people), rows, p=people / people.sum())]
    particle = np.array(PARTICLES, dtype=object)[rng.integers(0, len(PARTICLES), rows)]
    surname = np.array(SURNAMES, dtype=object)[rng.integers(0, len(SURNAMES), rows)]
    full = pa.array(firsts + " " + particle + surname, pa.string())
    style = rng.integers(0, 3, rows)
    full = pc.if_else(pa.array(style == 0), pc.utf8_upper(full), full)
    full = pc.if_else(pa.array(style == 1), pc.utf8_title(full), full)
    return pa.table(
        {
            "student_id": pa.array(np.arange(start_id, start_id + rows), pa.int64()),
            "nome": full,
            "enrolled": pa.array(rng.integers(2000, 2027, rows).astype(np.int16)),
        }
    )


def write_registry(path: Path, rows: int, seed: int = 0) -> None:
    """Write a registry as Parquet or CSV (by extension), a million rows at a time.

    The rows go to a temporary file beside `path` that is renamed into place after
    the last chunk, so an error or Ctrl-C leaves no partial file and keeps the
    previous one.
    """
    writer = AtomicWriter(path, registry_table(0).schema)
    try:
        for i, start in enumerate(range(0, rows, SAMPLE_CHUNK_ROWS)):
            size = min(SAMPLE_CHUNK_ROWS, rows - start)
            chunk = registry_table(size, seed + i, start)
            # One batch per chunk, so that Parquet gets one row group per chunk.
            for batch in chunk.combine_chunks().to_batches():
                writer.write(batch)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
