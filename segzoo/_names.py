"""The one "did you mean" helper behind every unknown-name message."""

import difflib


def close_matches(name, known, n=3):
    """Up to n names of `known` that look like `name` (difflib's ratio >= 0.6), best first."""
    return difflib.get_close_matches(str(name), list(known), n=n, cutoff=0.6)


def did_you_mean(name, known):
    """' Did you mean 'a' or 'b'?' for the close matches of `name`, or '' when none is close."""
    close = close_matches(name, known)
    return f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
