"""What the write stage derives for each person (`cpgraph.linkage.service`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cpgraph.linkage.service import display_names


def _mentions(rows: list[tuple[str, str | None, str | None, str | None]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["key", "agency", "forename", "surname"])


def test_a_persons_display_name_is_its_most_preferred_agencys_then_the_first_by_name():
    mentions = _mentions(
        [
            ("m1", "police", "Aaron", "Able"),  # police: not a preferred agency
            ("m2", "health", "Jon", "Smith"),
            ("m3", "education", "John", "Smith"),  # education ranks before health
            ("m4", "education", "Jo", "Smith"),  # ... and "Jo Smith" < "John Smith"
            ("m5", "health", None, " "),  # no name at all: never chosen
            ("m6", "health", "Zoe", None),  # a forename alone is a name
            ("m7", None, None, None),
        ]
    )
    pids = np.array(["P1", "P1", "P1", "P1", "P2", "P2", "P3"], dtype=object)
    keys = mentions["key"].to_numpy(object)
    got = display_names(pids, keys, mentions)
    assert got == {"P1": "Jo Smith", "P2": "Zoe"}
    # the mentions in another order than the assignments: the same names
    shuffled = mentions.iloc[[6, 3, 0, 5, 1, 4, 2]].reset_index(drop=True)
    assert display_names(pids, keys, shuffled) == got
    # a person whose only named record is with an agency of no preference still has one
    assert display_names(pids[:1], keys[:1], mentions) == {"P1": "Aaron Able"}
