"""Values a worker keeps in memory within a budget of bytes, the least recently used dropped
first: the drawn parts of pages (cms.public.fragments) and the page cache's hot entries
(cms.services.page_cache)."""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable


class Kept:
    """Values by key within `budget` bytes, each costing `size(value)` plus OVERHEAD."""

    # What a kept value costs beyond its size: its key and the bookkeeping, roughly.
    OVERHEAD = 256
    # One value may take this share of the budget at most (a very long post's article).
    LARGEST_SHARE = 8

    def __init__(self, budget: int, size: Callable = len):
        self.budget = budget
        self.size = size
        self.used = 0
        self._kept: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def find(self, key: Hashable):
        """Return the value kept under `key` (now the most recently used), or None."""
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
            return found

    def keep(self, key: Hashable, value) -> None:
        """Keep `value` under `key` (replacing what was there), unless it is too large."""
        cost = self.size(value) + self.OVERHEAD
        if cost * self.LARGEST_SHARE > self.budget:
            return
        with self._lock:
            self._drop(key)
            self._kept[key] = value
            self.used += cost
            while self.used > self.budget:
                self._drop(next(iter(self._kept)))

    def get(self, key: Hashable, make: Callable):
        """Return the value kept under `key`, making (and keeping) it when there is none."""
        found = self.find(key)
        if found is not None:
            return found
        made = make()
        self.keep(key, made)
        return made

    def discard(self, key: Hashable) -> None:
        """Forget the value kept under `key`, if any."""
        with self._lock:
            self._drop(key)

    def clear(self) -> None:
        """Forget every kept value."""
        with self._lock:
            self._kept.clear()
            self.used = 0

    def _drop(self, key: Hashable) -> None:
        dropped = self._kept.pop(key, None)
        if dropped is not None:
            self.used -= self.size(dropped) + self.OVERHEAD

    def keys(self) -> list:
        """Return the keys kept, least recently used first."""
        with self._lock:
            return list(self._kept)

    def __len__(self) -> int:
        return len(self._kept)
