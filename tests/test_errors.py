"""InputError: one line, and text echoed from an input cut short."""

from __future__ import annotations

from simulator.errors import MAX_PART, MAX_REASON, InputError, clip


def test_each_part_is_one_line_and_cut():
    err = InputError("a\nb.yaml", "doc", "got text " + "x" * 10_000 + "\nend")
    text = str(err)
    assert "\n" not in text and err.file == "a b.yaml"
    assert len(err.reason) == MAX_REASON and err.reason.endswith("x end") and "..." in err.reason
    assert len(InputError("f" * 5000, "g" * 5000, "r").file) == MAX_PART


def test_short_text_is_unchanged():
    assert clip("a  b\tc") == "a b c"
    assert str(InputError("s.yaml", "set.x", "unknown constant")) == "s.yaml: set.x: unknown constant"


def test_input_error_pickles_whole():
    """A chart-drawing process sends its InputError to its parent (outputs/drawing.py)."""
    import pickle

    error = InputError("scenarios/x.yaml", "label.zh", "is longer than 200 characters")
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is InputError and str(again) == str(error)
    assert (again.file, again.field, again.reason) == (error.file, error.field, error.reason)
