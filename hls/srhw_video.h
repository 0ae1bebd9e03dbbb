// The kernel's AXI4-Stream video boundary (8 bits per channel, channel c in bits [8c+7:8c],
// TUSER = start of frame on the first beat, TLAST = end of line on the last beat of each line).
//
// video_in: syncs on TUSER (start of frame, as Xilinx video IP does) and hands the pipeline
// exactly h lines of w pixels, whatever arrives (short and long lines, early and late frames),
// counting what it dropped or filled in.
// video_out: the last stage. It receives LR-position vectors of C * R * R pixel codes (the
// input of a depth-to-space; R = 1 for models without one) and emits the HR frame in raster
// order, R rows per LR row, PPC pixels per beat (PPC = R, or 1 when the right crop is not a
// multiple of R). Only one LR row of codes is buffered, never a frame. MODE_CRD / DCR pick the
// channel order of docs/arithmetic.md; CROP_B / CROP_R drop the last HR rows / columns.
#ifndef SRHW_VIDEO_H
#define SRHW_VIDEO_H

#include "srhw_stream.h"

namespace srhw {

// Framing status flags (sticky until reset; the s_axi_control register `status`).
enum framing_flag {
    SHORT_LINE = 1,          // a line ended (TLAST) early: completed with zero pixels
    LONG_LINE = 2,           // no TLAST at a line's last pixel: beats dropped up to the next TLAST
    FRAME_CUT_SHORT = 4,     // a TUSER inside a frame: the frame completed with zero pixels
    DROPPED_BETWEEN = 8,     // beats before a TUSER (between frames, or lines past the last)
    SIZE_CLAMPED = 16,       // width above the line buffers (or height above 65535): clamped
    SIZE_ZERO = 32           // a width or height of 0: run as 1
};

// The frame size the pipeline runs at: the registers clamped to 1..MAX_W pixels and 1..65535
// lines, so no line buffer is ever addressed past its end; `flags` gets the clamp's flags.
template <int MAX_W>
void clamp_size(int width, int height, int& w, int& h, int& flags) {
#pragma HLS INLINE
    w = width < 1 ? 1 : (width > MAX_W ? MAX_W : width);
    h = height < 1 ? 1 : (height > 65535 ? 65535 : height);
    flags = (width > MAX_W || height > 65535 ? SIZE_CLAMPED : 0) | (width < 1 || height < 1 ? SIZE_ZERO : 0);
}

// video_in hands the pipeline exactly h lines of w pixels per call (one frame), whatever
// arrives, so that a malformed frame can never put a stage out of step; the next TUSER
// resynchronises it. Before the frame's TUSER, beats are dropped. A line that ends (TLAST)
// early is completed with zero pixels; a line without TLAST at its last pixel has the beats up
// to its TLAST dropped; a TUSER inside the frame completes the frame with zero pixels and is
// kept for the next call (a frame with too few lines ends this way). Lines past the last are
// beats before the next frame's TUSER. status / dropped / filled: sticky flags (framing_flag,
// with size_flags from clamp_size), beats dropped and pixels filled since reset (saturating).
template <int C>
void video_in(hls::stream<axis_beat<8 * C> >& in, hls::stream<vec<ap_uint<8>, C> >& out, int h, int w,
              int size_flags, int& status, int& dropped, int& filled) {
    enum { IDLE, ACTIVE, FILL_LINE, DROP_LINE, FILL_FRAME };
    static ap_uint<6> flags = 0;
    static ap_uint<32> n_dropped = 0, n_filled = 0;
    static bool held = false;  // a TUSER beat read inside the last frame: this frame's first
    static axis_beat<8 * C> hb;
    flags = flags | ap_uint<6>(size_flags);
    int state = IDLE, x = 0, y = 0;
    bool done = false;
    while (!done) {
#pragma HLS PIPELINE II=1
        const bool fill = state == FILL_LINE || state == FILL_FRAME;
        axis_beat<8 * C> b;
        b.data = 0;
        b.user = 0;
        b.last = 0;
        if (!fill) {
            if (held) {
                b = hb;
                held = false;
            } else {
                b = in.read();
            }
        }
        bool emit = fill;
        if (state == IDLE) {
            if (b.user) {
                emit = true;
            } else {
                flags = flags | ap_uint<6>(DROPPED_BETWEEN);
                if (n_dropped != 0xffffffffu) n_dropped++;
            }
        } else if (state == ACTIVE) {
            if (b.user) {  // the next frame begins inside this one
                flags = flags | ap_uint<6>(FRAME_CUT_SHORT);
                hb = b;
                held = true;
                state = FILL_FRAME;
            } else {
                emit = true;
            }
        } else if (state == DROP_LINE) {
            if (b.user) {
                hb = b;
                held = true;
                if (x == 0 && y == 0) {
                    done = true;  // the frame was complete
                } else {
                    flags = flags | ap_uint<6>(FRAME_CUT_SHORT);
                    state = FILL_FRAME;
                }
            } else {
                if (n_dropped != 0xffffffffu) n_dropped++;
                if (b.last) {
                    state = ACTIVE;
                    if (x == 0 && y == 0) done = true;
                }
            }
        }
        if (emit) {
            vec<ap_uint<8>, C> px;
            for (int c = 0; c < C; c++) px.v[c] = fill ? ap_uint<8>(0) : ap_uint<8>(b.data.range(8 * c + 7, 8 * c));
            out.write(px);
            if (fill && n_filled != 0xffffffffu) n_filled++;
            const bool last_x = x == w - 1, last_y = y == h - 1;
            if (state == IDLE) state = ACTIVE;
            if (last_x) {
                x = 0;
                y = last_y ? 0 : y + 1;
                if (!fill && !b.last) {
                    flags = flags | ap_uint<6>(LONG_LINE);
                    state = DROP_LINE;
                } else if (last_y) {
                    done = true;
                } else if (state == FILL_LINE) {
                    state = ACTIVE;
                }
            } else {
                x++;
                if (!fill && b.last) {
                    flags = flags | ap_uint<6>(SHORT_LINE);
                    state = FILL_LINE;
                }
            }
        }
    }
    status = int(flags);
    dropped = int(n_dropped);
    filled = int(n_filled);
}

template <int C, int R, bool CRD, int PPC, int CROP_B, int CROP_R, int MAX_W>
void video_out(hls::stream<vec<ap_uint<8>, C * R * R> >& in, hls::stream<axis_beat<8 * C * PPC> >& out, int h,
               int w) {
    static ap_uint<8> row[MAX_W][C * R * R];
#pragma HLS ARRAY_PARTITION variable=row complete dim=2
    const int out_h = h * R - CROP_B, out_w = w * R - CROP_R;
    const int beats = out_w / PPC;
    int oy = 0;
    for (int y = 0; y < h; y++) {
        for (int i = 0; i < R; i++, oy++) {
            int ox = 0;
            for (int x = 0; x < w; x++) {
                for (int j0 = 0; j0 < R; j0 += PPC) {
#pragma HLS PIPELINE II=1
                    vec<ap_uint<8>, C * R * R> px;
                    if (i == 0 && j0 == 0) {
                        px = in.read();
                        for (int k = 0; k < C * R * R; k++) row[x][k] = px.v[k];
                    } else {
                        for (int k = 0; k < C * R * R; k++) px.v[k] = row[x][k];
                    }
                    if (oy < out_h && ox < out_w) {
                        axis_beat<8 * C * PPC> beat;
                        beat.data = 0;
                        for (int j = 0; j < PPC; j++)
                            for (int c = 0; c < C; c++) {
                                const int k = CRD ? c * R * R + i * R + (j0 + j) : (i * R + (j0 + j)) * C + c;
                                beat.data.range(8 * (j * C + c) + 7, 8 * (j * C + c)) = px.v[k];
                            }
                        beat.keep = -1;
                        beat.strb = -1;
                        beat.user = (oy == 0 && ox == 0) ? 1 : 0;
                        beat.last = (ox / PPC == beats - 1) ? 1 : 0;
                        beat.id = 0;
                        beat.dest = 0;
                        out.write(beat);
                    }
                    ox += PPC;
                }
            }
        }
    }
}

}  // namespace srhw

#endif  // SRHW_VIDEO_H
