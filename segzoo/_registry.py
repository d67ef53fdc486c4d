"""One small name -> object registry with helpful errors for unknown names."""

from segzoo._names import did_you_mean
from segzoo.errors import UnknownNameError


class Registry:
    def __init__(self, kind):
        self.kind = kind
        self._items = {}

    def register(self, name, item):
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is already registered.")
        self._items[name] = item
        return item

    def get(self, name):
        key = name.lower() if isinstance(name, str) else name
        if key in self._items:
            return self._items[key]
        raise UnknownNameError(self._unknown_message(name))

    def names(self):
        return sorted(self._items)

    def _unknown_message(self, name):
        hint = did_you_mean(str(name).lower(), self._items)
        return f"Unknown {self.kind} {name!r}.{hint} Available: {', '.join(self.names())}."
