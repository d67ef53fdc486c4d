"""ConfigError for keyword options a class does not take, naming the close matches:
Python's own TypeError names one unknown option and no alternative."""

import inspect

from segzoo._names import close_matches
from segzoo.errors import ConfigError

_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def reject_unknown_options(instance, unknown, base):
    """Raises a ConfigError if `unknown` (the keyword arguments left over) is not empty;
    the options are those of the __init__ methods of the instance's class up to `base`."""
    if not unknown:
        return
    valid = sorted(_options(type(instance), base))
    named = []
    for name in sorted(unknown):
        close = close_matches(name, valid, n=1)
        named.append(f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name))
    raise ConfigError(
        f"{type(instance).__name__} has no option{'s' if len(named) > 1 else ''} {', '.join(named)}. "
        f"Its options: {', '.join(valid)}."
    )


def _options(cls, base):
    return {
        name
        for klass in cls.__mro__
        if issubclass(klass, base) and "__init__" in vars(klass)
        for name, parameter in inspect.signature(klass.__init__).parameters.items()
        if name != "self" and parameter.kind in _KINDS
    }
