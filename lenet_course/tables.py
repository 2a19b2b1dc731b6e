"""Tables of numbers a chapter computed, drawn as tables wherever the notebook runs.

``markdown_table`` turns a header and rows into a Markdown table. Jupyter, Colab and
the published book draw it as a table; printed, it is plain text that reads as one.

Example:
    >>> table = markdown_table(["layer", "maps"], [["C1", 6], ["C3", 16]])
    >>> print(table.data)
    | layer | maps |
    |---|---|
    | C1 | 6 |
    | C3 | 16 |
"""

from IPython.display import Markdown


def markdown_table(header, rows):
    """A Markdown table of ``rows`` under ``header``, shown as a table in a notebook.

    Every cell is shown as its text (``str``); a ``|`` in a cell is escaped, so it
    stays in its cell.

    Args:
        header: the columns' names.
        rows: one sequence of cells per row, as many cells as the header has names.

    Returns:
        an ``IPython.display.Markdown``: the table's text is its ``data``.

    Raises:
        ValueError: a row has more or fewer cells than the header has names.

    Example:
        >>> print(markdown_table(["run", "error"], [["a | b", "1.00%"]]).data)
        | run | error |
        |---|---|
        | a \\| b | 1.00% |
    """
    header = list(header)
    lines = [_line(header), "|---" * len(header) + "|"]
    for number, row in enumerate(rows, start=1):
        row = list(row)
        if len(row) != len(header):
            raise ValueError(f"row {number} has {len(row)} cells, the header "
                             f"{len(header)} ({', '.join(map(str, header))}): {row}")
        lines.append(_line(row))
    return Markdown("\n".join(lines))


def _line(cells):
    return "| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |"
