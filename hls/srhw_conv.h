// Streaming 2-D convolution (stride 1, zero padding as ONNX pads) with a folded MAC array.
//
// Pixels arrive in raster order, one channel vector per element. The stage walks the padded
// frame (h + PAD_T + PAD_B rows of w + PAD_L + PAD_R positions), reading a pixel wherever the
// position lies inside the image and a zero elsewhere, so borders are exactly ONNX's zero
// padding. KH - 1 line buffers and a KH x KW window hold the neighbourhood; no frame buffer.
//
// Folding: the output channels are computed PO at a time over GROUPS = ceil(C_OUT / PO)
// cycles per pixel position, in one flattened pipelined loop (II = 1), so the stage has
// PO * C_IN * KH * KW multipliers and takes GROUPS cycles per pixel. GROUPS = 1 is full rate.
//
// CFG: C_IN, C_OUT, KH, KW, PAD_T, PAD_L, PAD_B, PAD_R, MAX_W (largest input width), PO,
// GROUPS, in_t, out_t, w_t, acc_t, plus the epilogue's fields (srhw_epilogue.h).
#ifndef SRHW_CONV_H
#define SRHW_CONV_H

#include "srhw_epilogue.h"
#include "srhw_stream.h"

namespace srhw {

template <class CFG>
void conv_stage(hls::stream<vec<typename CFG::in_t, CFG::C_IN> >& in,
                hls::stream<vec<typename CFG::out_t, CFG::C_OUT> >& out, int h, int w,
                const typename CFG::w_t weight[CFG::C_OUT][CFG::C_IN][CFG::KH][CFG::KW],
                const typename CFG::acc_t bias[CFG::C_OUT], const int shift[CFG::C_OUT],
                const typename CFG::slope_t slope[CFG::C_OUT], const int lo[CFG::C_OUT],
                const int hi[CFG::C_OUT], const typename CFG::out_t lut[CFG::LUT_SIZE]) {
    typedef typename CFG::in_t in_t;
    const int LB = CFG::KH > 1 ? CFG::KH - 1 : 1;
    const int MAX_WP = CFG::MAX_W + CFG::PAD_L + CFG::PAD_R;
    static in_t line[LB][MAX_WP][CFG::C_IN];
#pragma HLS ARRAY_PARTITION variable=line complete dim=1
#pragma HLS ARRAY_PARTITION variable=line complete dim=3
    in_t win[CFG::KH][CFG::KW][CFG::C_IN];
#pragma HLS ARRAY_PARTITION variable=win complete dim=0
    vec<typename CFG::out_t, CFG::C_OUT> res;
#pragma HLS ARRAY_PARTITION variable=res.v complete
    for (int u = 0; u < CFG::KH; u++)
        for (int v = 0; v < CFG::KW; v++)
            for (int c = 0; c < CFG::C_IN; c++) win[u][v][c] = in_t(0);
    for (int o = 0; o < CFG::C_OUT; o++) res.v[o] = typename CFG::out_t(0);

    const int hp = h + CFG::PAD_T + CFG::PAD_B;
    const int wp = w + CFG::PAD_L + CFG::PAD_R;
    int y = 0, x = 0, g = 0;
    const long n = long(hp) * wp * CFG::GROUPS;
    for (long it = 0; it < n; it++) {
#pragma HLS PIPELINE II=1
        if (g == 0) {
            const bool inside = y >= CFG::PAD_T && y < CFG::PAD_T + h && x >= CFG::PAD_L && x < CFG::PAD_L + w;
            vec<in_t, CFG::C_IN> px;
            if (inside) {
                px = in.read();
            } else {
                for (int c = 0; c < CFG::C_IN; c++) px.v[c] = in_t(0);
            }
            for (int u = 0; u < CFG::KH; u++)
                for (int v = 0; v + 1 < CFG::KW; v++)
                    for (int c = 0; c < CFG::C_IN; c++) win[u][v][c] = win[u][v + 1][c];
            for (int c = 0; c < CFG::C_IN; c++) {
                for (int u = 0; u + 1 < CFG::KH; u++) win[u][CFG::KW - 1][c] = line[u][x][c];
                win[CFG::KH - 1][CFG::KW - 1][c] = px.v[c];
                for (int u = 0; u + 2 < CFG::KH; u++) line[u][x][c] = line[u + 1][x][c];
                if (CFG::KH > 1) line[LB - 1][x][c] = px.v[c];
            }
        }
        if (y >= CFG::KH - 1 && x >= CFG::KW - 1) {
            for (int p = 0; p < CFG::PO; p++) {
                const int o = g * CFG::PO + p;
                if (o < CFG::C_OUT) {
                    typename CFG::acc_t acc = bias[o];
                    for (int c = 0; c < CFG::C_IN; c++)
                        for (int u = 0; u < CFG::KH; u++)
                            for (int v = 0; v < CFG::KW; v++) acc += weight[o][c][u][v] * win[u][v][c];
                    res.v[o] = epilogue<CFG>(acc, o, shift, slope, lo, hi, lut);
                }
            }
            if (g == CFG::GROUPS - 1) out.write(res);
        }
        if (++g == CFG::GROUPS) {
            g = 0;
            if (++x == wp) {
                x = 0;
                ++y;
            }
        }
    }
}

}  // namespace srhw

#endif  // SRHW_CONV_H
