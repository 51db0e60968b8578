"""Helpers for the fold.py resolution scripts."""


def take(text, side):
    """Resolve every conflict of a merge3 result to 'current' or 'fold'."""
    out, state = [], None
    for line in text.splitlines(keepends=True):
        if line.startswith(b'<<<<<<< current'):
            state = 'current'
        elif state and line.startswith(b'======='):
            state = 'fold'
        elif state and line.startswith(b'>>>>>>> fold'):
            state = None
        elif state is None or state == side:
            out.append(line)
    return b''.join(out)


def sub(text, old, new, what=''):
    """@text with its one occurrence of @old replaced by @new."""
    assert text.count(old) == 1, (what, old)
    return text.replace(old, new)
