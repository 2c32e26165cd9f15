"""Independent random streams from one seed (``numpy.random.SeedSequence``).

Each process of the model draws from its own named stream, so changing how much
one process draws (say, more needs) never shifts the numbers another process
sees (say, the network). Streams are keyed by a fixed index, never by the order
in which they are first asked for, so results are byte-identical for a seed
whatever the launcher, the worker count or the code path that runs first.
"""

from __future__ import annotations

import numpy as np

#: Stream names and their fixed spawn keys. Append new names; never reorder.
STREAMS: dict[str, int] = {
    "network": 0,
    "communities": 1,  # reserved (label propagation draws from "network")
    "strengths": 2,
    "people": 3,
    "needs": 4,
    "attention": 5,
    "response": 6,
    "ties": 7,  # reserved
    "meetups": 8,
    "cascade": 9,
    "knockout": 10,
    "trust": 11,  # acceptance and success of introductions (trust.enabled)
}


def stream(seed: int, name: str) -> np.random.Generator:
    """Return the generator of stream ``name`` for root ``seed``.

    Args:
        seed: Root seed (non-negative integer).
        name: One of :data:`STREAMS`.

    Returns:
        A fresh PCG64 generator; two calls with the same arguments return
        generators that produce identical numbers.
    """
    key = STREAMS[name]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(key,))))

