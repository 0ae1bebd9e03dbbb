// The kernel's AXI4-Stream video boundary (8 bits per channel, channel c in bits [8c+7:8c],
// TUSER = start of frame on the first beat, TLAST = end of line on the last beat of each line).
//
// video_in: waits for a beat with TUSER set (start-of-frame sync, as Xilinx video IP does),
// then takes h * w beats of LR pixels.
// video_out: the last stage. It receives LR-position vectors of C * R * R pixel codes (the
// input of a depth-to-space; R = 1 for models without one) and emits the HR frame in raster
// order, R rows per LR row, PPC pixels per beat (PPC = R, or 1 when the right crop is not a
// multiple of R). Only one LR row of codes is buffered, never a frame. MODE_CRD / DCR pick the
// channel order of docs/arithmetic.md; CROP_B / CROP_R drop the last HR rows / columns.
#ifndef SRHW_VIDEO_H
#define SRHW_VIDEO_H

#include "srhw_stream.h"

namespace srhw {

template <int C>
void video_in(hls::stream<axis_beat<8 * C> >& in, hls::stream<vec<ap_uint<8>, C> >& out, int h, int w) {
    axis_beat<8 * C> beat = in.read();
    while (!beat.user) beat = in.read();
    const long n = long(h) * w;
    for (long i = 0; i < n; i++) {
#pragma HLS PIPELINE II=1
        if (i > 0) beat = in.read();
        vec<ap_uint<8>, C> px;
        for (int c = 0; c < C; c++) px.v[c] = beat.data.range(8 * c + 7, 8 * c);
        out.write(px);
    }
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
