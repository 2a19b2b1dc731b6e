import pytest

from lenet_course.tables import markdown_table


def test_a_table_is_its_header_a_separator_and_a_line_per_row():
    table = markdown_table(("layer", "maps", "size"), [("C1", 6, "28×28"), ["S2", 6, "14×14"]])
    assert table.data.splitlines() == ["| layer | maps | size |", "|---|---|---|",
                                       "| C1 | 6 | 28×28 |", "| S2 | 6 | 14×14 |"]


def test_a_table_is_shown_as_markdown_in_a_notebook():
    table = markdown_table(["a"], [[1]])
    assert table._repr_markdown_() == table.data


def test_rows_may_be_any_iterable_even_a_generator():
    table = markdown_table(["n", "square"], ([n, n * n] for n in range(3)))
    assert table.data.splitlines()[2:] == ["| 0 | 0 |", "| 1 | 1 |", "| 2 | 4 |"]


def test_a_bar_in_a_cell_stays_in_its_cell():
    table = markdown_table(["name"], [["a | b"]])
    assert table.data.splitlines()[-1] == r"| a \| b |"


def test_a_table_without_rows_is_its_header():
    assert markdown_table(["a", "b"], []).data == "| a | b |\n|---|---|"


@pytest.mark.parametrize("row", [["C1"], ["C1", 6, "28×28", "extra"]])
def test_a_row_with_the_wrong_number_of_cells_is_refused_naming_it(row):
    with pytest.raises(ValueError, match=r"row 2 has \d cells, the header 2 \(layer, maps\)"):
        markdown_table(["layer", "maps"], [["S2", 6], row])
