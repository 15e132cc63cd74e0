"""tools/play.py measures Play: it must fail when Play fails (it once reported "7 frames in 2.3 s" for
a Play that never reached now)."""

from play import FRAMES, deadline_s, play_errors


def test_play_passes_only_when_every_frame_shows_in_order_and_now_comes_in_time():
    assert play_errors(FRAMES, 2.8) == []
    assert play_errors(FRAMES, deadline_s(FRAMES)) == []


def test_play_fails_when_it_stalls_skips_or_is_late():
    stalled = FRAMES[:8]
    assert play_errors(stalled, None) == [
        f"Play showed {' '.join(stalled)}, not every snapshot and then now ({' '.join(FRAMES)})",
        f"Play did not reach now within {deadline_s(FRAMES):.1f} s",
    ]
    assert play_errors([], None)  # nothing shown at all
    assert play_errors([frame for frame in FRAMES if frame != "1"], 2.0)  # a frame skipped
    assert play_errors(["now"], 0.1)  # straight to now
    assert play_errors(FRAMES, deadline_s(FRAMES) + 0.01) == [
        f"Play took {deadline_s(FRAMES) + 0.01:.2f} s to reach now, more than {deadline_s(FRAMES):.1f} s"
    ]
