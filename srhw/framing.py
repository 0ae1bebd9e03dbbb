"""The kernel's input framing rules (srhw_video_in.v, video_in in hls/srhw_video.h), written as a
parse of a whole beat sequence rather than as the hardware's state machine, so that tests and
the cocotb harness can check both backends against an independent statement of them; and the
malformed frames they send."""
from __future__ import annotations

SHORT_LINE, LONG_LINE, FRAME_CUT_SHORT, DROPPED_BETWEEN, SIZE_CLAMPED, SIZE_ZERO = 1, 2, 4, 8, 16, 32
Beat = tuple[int, int, int]  # data, TUSER, TLAST


def expected(beats: list[Beat], h: int, w: int) -> tuple[list[int], int, int, int, int]:
    """The framing rules as a parse of the whole beat sequence
    (data, TUSER, TLAST): frames start at TUSER; a frame's beats split into lines at TLAST;
    each of its h lines gives w pixels (a short line filled with zeros, a long line's extra
    beats dropped); a frame that the next TUSER cuts short is filled; lines past the h-th, and
    beats before a frame's TUSER, are dropped between frames. Returns the pixels, the frames,
    the flags (short, long, cut short, between) and the dropped / filled counts."""
    starts = [k for k, b in enumerate(beats) if b[1]]
    pixels, flags, dropped, filled = [], 0, 0, 0
    first = starts[0] if starts else len(beats)
    if first:
        flags |= DROPPED_BETWEEN
        dropped += first
    for n, s in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(beats)
        lines, cur = [], []
        for k in range(s, end):
            cur.append(beats[k][0])
            if beats[k][2]:
                lines.append((cur, True))
                cur = []
        if cur:
            lines.append((cur, False))  # a line the next frame (or the end) cut off
        got = 0
        for y in range(h):
            if y < len(lines):
                line, closed = lines[y]
                if len(line) < w:
                    if closed:
                        flags |= SHORT_LINE
                    else:
                        flags |= FRAME_CUT_SHORT  # the frame ends inside this line
                    pixels += line + [0] * (w - len(line))
                    filled += w - len(line)
                    got += 1
                    if not closed:
                        break
                else:
                    pixels += line[:w]
                    if len(line) > w or not closed:
                        flags |= LONG_LINE
                        dropped += len(line) - w
                    got += 1
            else:
                flags |= FRAME_CUT_SHORT
                break
        missing = h - got
        pixels += [0] * (missing * w)
        filled += missing * w
        extra = lines[h:]
        if extra:
            flags |= DROPPED_BETWEEN
            dropped += sum(len(line) for line, _ in extra)
    return pixels, len(starts), flags, dropped, filled




def frame_beats(pixels, lens: list[int], first_user: bool = True) -> list[Beat]:
    """Lines of the given lengths, filled in order from `pixels` (an iterator of beat data)."""
    out = []
    for y, n in enumerate(lens):
        out += [(next(pixels), int(first_user and y == 0 and k == 0), int(k == n - 1)) for k in range(n)]
    return out


def malformed(pixels, h: int, w: int) -> list[Beat]:
    """Junk before a frame, then one frame of each kind: a short line, a long line, a missing
    line (cut by the next TUSER), extra lines, a TUSER in mid-line, long lines including the
    last. Each gives exactly one frame of h lines of w pixels."""
    good = [w] * h
    seq = [(1, 0, 0), (2, 0, 1)] + frame_beats(pixels, good)
    seq += frame_beats(pixels, [w] * (h - 1) + [max(1, w // 2)] if w > 1 else [1] * h)
    seq += frame_beats(pixels, [w + 3] + [w] * (h - 1))
    seq += frame_beats(pixels, [w] * max(1, h - 1))
    seq += frame_beats(pixels, [w] * (h + 1) + [2])
    seq += frame_beats(pixels, [w] + [max(1, w - 1)] * (h - 1))[:-1]
    seq += frame_beats(pixels, [w + 2] * h)
    return seq
