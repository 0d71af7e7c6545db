"""Item analysis against a hand-computed example (5 candidates × 4 items scored 0/1).

Responses (1 = right):       item1 item2 item3 item4 | total T
    candidate A                1     1     1     1   |   4
    candidate B                1     1     1     0   |   3
    candidate C                1     1     0     0   |   2
    candidate D                1     0     1     0   |   2
    candidate E                0     0     0     0   |   0

Test totals: mean T̄ = 11/5 = 2.2; median = 2.
Deviations T - T̄ = 1.8, 0.8, -0.2, -0.2, -2.2.
  Σd² = 3.24 + 0.64 + 0.04 + 0.04 + 4.84 = 8.8   -> V(T) = 8.8/4 = 2.2, SD = sqrt(2.2) = 1.4832
  Σd³ = 5.832 + 0.512 - 0.008 - 0.008 - 10.648 = -4.32
  Σd⁴ = 10.4976 + 0.4096 + 0.0016 + 0.0016 + 23.4256 = 34.336
  m2 = 8.8/5 = 1.76, m3 = -0.864, m4 = 6.8672
  k2 = 5 × 1.76 / 4 = 2.2; k3 = 25 × (-0.864) / (4 × 3) = -1.8
  skewness = k3 / k2^1.5 = -1.8 / 3.2631 = -0.5516
  k4 = 25 × (6 × 6.8672 - 3 × 4 × 1.76²) / (4 × 3 × 2) = 25 × (41.2032 - 37.1712) / 24 = 4.2
  kurtosis = k4 / k2² = 4.2 / 4.84 = 0.8678
Item variances (S - 1 = 4): item1 p=.8: (4×.04 + .64)/4 = 0.2; item2 p=.6: (3×.16 + 2×.36)/4 = 0.3;
  item3 = 0.3; item4 p=.2: 0.2.  Σ = 1.0
  alpha (KR-20) = 4/3 × (1 - 1.0/2.2) = 4/3 × 0.545454 = 0.7273
  error ratio = 100 × sqrt(1 - 0.72727) = 52.22; standard error = 1.4832 × 0.52223 = 0.7746 (marks)
Item 1: facility = 80.00; SD = 100 × sqrt(0.2) = 44.72.
  rest X = T - x = 3, 2, 1, 1, 0 (mean 1.4); deviations x: .2 .2 .2 .2 -.8; X: 1.6 .6 -.4 -.4 -1.4
  C(x, X) = (.32 + .12 - .08 - .08 + 1.12)/4 = 1.4/4 = 0.35; V(X) = (2.56+.36+.16+.16+1.96)/4 = 1.3
  D = 100 × 0.35 / sqrt(0.2 × 1.3) = 100 × 0.35 / 0.50990 = 68.64
  sorted x 0 1 1 1 1 with sorted X 0 1 1 2 3: deviations -.8 .2 .2 .2 .2 / -1.4 -.4 -.4 .6 1.6
  C_max = (1.12 - .08 - .08 + .12 + .32)/4 = 0.35 -> DE = 100.00
Item 4: x = 1 0 0 0 0, facility 20.00, SD 44.72; X = 3 3 2 2 0 (mean 2); x dev .8 -.2 -.2 -.2 -.2; X dev 1 1 0 0 -2
  C = (.8 - .2 + 0 + 0 + .4)/4 = 0.25; V(X) = (1+1+0+0+4)/4 = 1.5; D = 100 × .25 / sqrt(.2 × 1.5) = 45.64
  sorted x 0 0 0 0 1 with sorted X 0 2 2 3 3: X dev -2 0 0 1 1; C_max = (.4 + 0 + 0 - .2 + .8)/4 = 0.25 -> DE 100.00
Item 2: x = 1 1 1 0 0, facility 60; X = 3 2 1 2 0 (mean 1.6); x dev .4 .4 .4 -.6 -.6; X dev 1.4 .4 -.6 .4 -1.6
  C = (.56 + .16 - .24 - .24 + .96)/4 = 0.3; V(X) = (1.96+.16+.36+.16+2.56)/4 = 1.3
  D = 100 × .3 / sqrt(.3 × 1.3) = 48.04
  sorted X 0 1 2 2 3 with x 0 0 1 1 1: dev -1.6 -.6 .4 .4 1.4; C_max = (.96 + .36 + .16 + .16 + .56)/4 = 0.55
  DE = 100 × .3 / .55 = 54.55
"""
import datetime as dt

import pytest

from app.exams import statistics as st

MATRIX = [
    [1, 1, 1, 1],
    [1, 1, 1, 0],
    [1, 1, 0, 0],
    [1, 0, 1, 0],
    [0, 0, 0, 0],
]


def _rows(matrix, number=1, user_offset=0):
    rows = []
    for a, marks in enumerate(matrix):
        total = sum(marks)
        for position, mark in enumerate(marks, start=1):
            rows.append(st.Row(
                attempt_id=(number * 100) + a, user_id=user_offset + a, number=number,
                started_at=dt.datetime(2026, 12, 1, 9), score=100 * total / len(marks), position=position,
                question_version_id=position, standard_item_id=1 if position <= 2 else 2, points=1.0,
                fraction=float(mark), awarded=float(mark),
                response={"choice": "a" if mark else "b"},
            ))
    return rows


def test_test_statistics_match_hand_computation():
    totals = [sum(row) for row in MATRIX]
    stats = st.test_statistics(totals, MATRIX)
    assert stats.attempts == 5 and stats.items == 4
    assert round(stats.mean, 2) == 2.20
    assert round(stats.median, 2) == 2.00
    assert round(stats.sd, 4) == 1.4832
    assert round(stats.skewness, 4) == -0.5516
    assert round(stats.kurtosis, 4) == 0.8678
    assert round(stats.alpha, 4) == 0.7273
    assert round(stats.error_ratio, 2) == 52.22
    assert round(stats.standard_error, 4) == 0.7746


@pytest.mark.parametrize("index, facility, sd, discrimination, efficiency", [
    (0, 80.00, 44.72, 68.64, 100.00),
    (1, 60.00, 54.77, 48.04, 54.55),
    (3, 20.00, 44.72, 45.64, 100.00),
])
def test_item_statistics_match_hand_computation(index, facility, sd, discrimination, efficiency):
    marks = [row[index] for row in MATRIX]
    rest = [sum(row) - row[index] for row in MATRIX]
    stats = st.item_statistics(marks, 1.0, rest)
    assert round(stats.facility, 2) == facility
    assert round(stats.sd, 2) == sd  # item 2: 100 × sqrt(0.3) = 54.77
    assert round(stats.discrimination, 2) == discrimination
    assert round(stats.efficiency, 2) == efficiency


def test_analyse_uses_first_attempts_by_default_and_matches_the_example():
    # A second attempt by every candidate, all right, must not count unless "all" is asked for.
    rows = _rows(MATRIX) + _rows([[1, 1, 1, 1]] * 5, number=2)
    versions = {i: {"label": f"Q{i}", "qtype": "single_choice",
                    "spec": {"options": [{"id": "a", "text": "A", "fraction": 1}, {"id": "b", "text": "B", "fraction": 0}]}}
                for i in range(1, 5)}
    analysis = st.analyse(rows, versions)
    assert analysis.test.attempts == 5
    assert round(analysis.test.mean, 2) == 55.00          # 2.2 of 4 = 55 %
    assert round(analysis.test.sd, 2) == 37.08            # 1.4832 / 4 × 100
    assert round(analysis.test.alpha, 4) == 0.7273
    assert round(analysis.test.error_ratio, 2) == 52.22
    assert round(analysis.test.standard_error, 2) == 19.36  # 37.08 × 0.52223
    by_label = {q.label: q for q in analysis.questions}
    assert round(by_label["Q1"].stats.discrimination, 2) == 68.64
    assert by_label["Q4"].stats.flags == []                 # facility 20 is not below 20
    counts = {d["id"]: d["count"] for d in by_label["Q1"].distractors}
    assert counts == {"a": 4, "b": 1, None: 0}
    facility = {s.standard_item_id: round(s.facility, 2) for s in analysis.standard_items}
    assert facility == {1: 70.00, 2: 40.00}                 # (4+3)/10 and (3+1)/10
    everything = st.analyse(rows, versions, st.ALL)
    assert everything.test.attempts == 10


def test_flags():
    easy = st.item_statistics([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0], 1, [5, 4, 3, 2, 5, 4, 3, 2, 5, 4, 3, 5])
    assert "too_easy" in easy.flags and "negative_discrimination" in easy.flags
    hard = st.item_statistics([0, 0, 0, 0, 0, 0, 1], 1, [1, 2, 3, 4, 5, 6, 7])
    assert "too_hard" in hard.flags and "negative_discrimination" not in hard.flags


def test_ungraded_attempts_are_left_out_and_bad_input_is_refused():
    rows = _rows(MATRIX)
    rows[0].fraction = None  # awaiting manual grading
    assert st.analyse(rows, {}).test.attempts == 4
    with pytest.raises(ValueError):
        st.select_attempts(rows, "best")
    with pytest.raises(ValueError):
        st.item_statistics([1, 0], 1, [1])
