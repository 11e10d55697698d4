"""core.camera_agreement.CameraAgreement's judgement over time, on its own."""
from __future__ import annotations

import numpy as np
import pytest

from pose3d_ros.core.camera_agreement import AGREEMENT_MIN_SETS, CameraAgreement, ViewAgreement

NAMES = ["a", "b", "c", "d"]


def _judged_after(d_residuals: int, comparisons: int = 200) -> tuple[list[str], list[str]]:
    """Camera c off (15 % of the people's size against 3 %); camera d sees people in its
    first d_residuals comparisons only: (cameras told, cameras judged)."""
    agreement = CameraAgreement(NAMES)
    for k in range(comparisons):
        residual = np.array([0.03, 0.03, 0.15, 0.03 if k < d_residuals else np.nan])
        agreement.update(NAMES, ViewAgreement(residual, np.zeros(4, int), np.zeros(4, int)))
    return ([d.camera for d in agreement.disagreements()],
            sorted(agreement.judged_cameras()))


@pytest.mark.parametrize("d_residuals", [0, 5, AGREEMENT_MIN_SETS - 1, AGREEMENT_MIN_SETS])
def test_a_camera_that_stopped_getting_residuals_does_not_hold_the_judgement_back(
        d_residuals):
    """A review (session 64): a camera with 1-19 comparisons that then saw nobody (or
    stopped) held every camera's judgement back for good, so a camera turned off its pose
    was never told. It is waited for only while its comparisons keep coming."""
    told, judged = _judged_after(d_residuals)
    assert told == ["c"], (d_residuals, told)
    assert judged == (NAMES if d_residuals >= AGREEMENT_MIN_SETS else ["a", "b", "c"])


def test_a_camera_still_getting_its_first_residuals_is_waited_for():
    """While a camera's first comparisons still come in, nobody is judged on residuals (a
    bad camera left out of the groups at first made another camera be named before it)."""
    told, judged = _judged_after(200, comparisons=AGREEMENT_MIN_SETS - 1)
    assert told == [] and judged == []
    agreement = CameraAgreement(NAMES)
    for k in range(AGREEMENT_MIN_SETS + 5):
        late = 0.03 if k >= 10 else np.nan          # d's comparisons start at the 11th
        residual = np.array([0.03, 0.03, 0.15, late])
        agreement.update(NAMES, ViewAgreement(residual, np.zeros(4, int), np.zeros(4, int)))
    assert agreement.disagreements() == []          # d has 15: still waited for
