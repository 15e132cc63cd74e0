"""Mutations of a valid file, as an attacker or a broken transfer makes them: cut short, or bytes flipped."""

import random
from collections.abc import Callable, Iterator


def mutations(raw: bytes, count: int, seed: int = 0) -> Iterator[bytes]:
    rng = random.Random(seed)
    for trial in range(count):
        data = bytearray(raw)
        if trial % 3 == 0:
            data = data[: rng.randrange(len(data))]
        else:
            for _ in range(rng.randint(1, 20)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        yield bytes(data)


def outcomes(raw: bytes, count: int, read: Callable[[bytes], object], refusal: type[Exception]) -> dict[str, int]:
    """How `read` took `count` mutations of `raw`: refused with `refusal`, or read; anything else raises."""
    counted = {"refused": 0, "read": 0}
    for data in mutations(raw, count):
        try:
            read(data)
            counted["read"] += 1
        except refusal:
            counted["refused"] += 1
    return counted
