"""The tally `bench/read_numbers.py` keeps of numbers read beside their digits read alone."""

from __future__ import annotations

import pytest

from training.evaluation import NumbersTally


def test_alone_exact_counts_numbers_whose_every_digit_reads_right_alone():
    tally = NumbersTally()
    tally.add(truth="42", read="42", alone=[True, True])
    tally.add(truth="905", read="95", alone=[True, True, True])  # segmentation lost a digit
    tally.add(truth="2026", read="2028", alone=[True, True, True, False])  # the classifier misreads the 6 alone too
    assert (tally.exact, tally.all_alone_right) == (1, 2)
    assert tally.alone_exact == pytest.approx(2 / 3)


def test_a_number_of_the_wrong_length_gives_no_digit_inside_but_its_digits_still_count_alone():
    tally = NumbersTally()
    tally.add(truth="905", read="95", alone=[True, False, True])
    tally.add(truth="17", read="", alone=[True, True])  # refused
    tally.add(truth="33", read="38", alone=[True, True])
    assert (tally.digits, tally.inside_right, tally.alone_right) == (7, 1, 6)
    assert tally.summary() == ("0.00% exact (66.67% of the numbers have every digit read right alone); "
                               "digits 14.29% inside numbers, 85.71% alone")
