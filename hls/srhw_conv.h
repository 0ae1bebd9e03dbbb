// Streaming 2-D convolution (stride 1, zero padding as ONNX pads) with a folded MAC array.
//
// Pixels arrive in raster order, one channel vector per element. The stage walks the padded
// frame (h + PAD_T + PAD_B rows of w + PAD_L + PAD_R positions), reading a pixel wherever the
// position lies inside the image and the padding code elsewhere (0, or the input's zero point
// when HAS_PAD: the code of real 0), so borders are exactly ONNX's zero padding. KH - 1 line
// buffers and a KH x KW window hold the neighbourhood; no frame buffer.
//
// Folding: the output channels are computed PO at a time over GROUPS = ceil(C_OUT / PO)
// cycles per pixel position, in one flattened pipelined loop (II = 1), so the stage has
// PO * C_IN * KH * KW multipliers and takes GROUPS cycles per pixel. GROUPS = 1 is full rate.
//
// CFG: C_IN, C_OUT, KH, KW, PAD_T, PAD_L, PAD_B, PAD_R, MAX_W (largest input width), PO,
// GROUPS, in_t, out_t, w_t (weight arithmetic), ws_t (plain C++ integer type the weight tables
// are stored in), acc_t, HAS_PAD, plus the epilogue's fields (srhw_epilogue.h). Tables: the
// weights, bias, the epilogue's, zero[C_OUT] (output zero points) and pad[C_IN] (padding codes).
#ifndef SRHW_CONV_H
#define SRHW_CONV_H

#include "srhw_epilogue.h"
#include "srhw_stream.h"

namespace srhw {

// The column of the padded frame at (y, x), oldest row first: the KH - 1 rows the line buffer
// holds at column x, then the new pixel (read from `in` inside the image, the padding code outside).
// The line buffer moves up one row at column x. Shared by both convolution stages.
template <class CFG, int LB, int MAX_WP>
void next_column(hls::stream<vec<typename CFG::in_t, CFG::C_IN> >& in, typename CFG::in_t line[LB][MAX_WP][CFG::C_IN],
                 typename CFG::in_t col[CFG::KH][CFG::C_IN], int y, int x, int h, int w,
                 const typename CFG::in_t pad[CFG::C_IN]) {
#pragma HLS INLINE
    typedef typename CFG::in_t in_t;
    const bool inside = y >= CFG::PAD_T && y < CFG::PAD_T + h && x >= CFG::PAD_L && x < CFG::PAD_L + w;
    vec<in_t, CFG::C_IN> px;
    if (inside) {
        px = in.read();
    } else {
        for (int c = 0; c < CFG::C_IN; c++) px.v[c] = CFG::HAS_PAD ? pad[c] : in_t(0);
    }
    for (int c = 0; c < CFG::C_IN; c++) {
        for (int u = 0; u + 1 < CFG::KH; u++) col[u][c] = line[u][x][c];
        col[CFG::KH - 1][c] = px.v[c];
        for (int u = 0; u + 2 < CFG::KH; u++) line[u][x][c] = line[u + 1][x][c];
        if (CFG::KH > 1) line[LB - 1][x][c] = px.v[c];
    }
}

template <class CFG>
void conv_stage(hls::stream<vec<typename CFG::in_t, CFG::C_IN> >& in,
                hls::stream<vec<typename CFG::out_t, CFG::C_OUT> >& out, int h, int w,
                const typename CFG::ws_t weight[CFG::C_OUT][CFG::C_IN][CFG::KH][CFG::KW],
                const typename CFG::acc_t bias[CFG::C_OUT], const int shift[CFG::C_OUT],
                const typename CFG::slope_t slope[CFG::C_OUT], const int lo[CFG::C_OUT],
                const int hi[CFG::C_OUT], const typename CFG::out_t lut[CFG::LUT_SIZE], const int zero[CFG::C_OUT],
                const typename CFG::in_t pad[CFG::C_IN]) {
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
            in_t col[CFG::KH][CFG::C_IN];
            next_column<CFG, LB, MAX_WP>(in, line, col, y, x, h, w, pad);
            for (int u = 0; u < CFG::KH; u++)
                for (int c = 0; c < CFG::C_IN; c++) {
                    for (int v = 0; v + 1 < CFG::KW; v++) win[u][v][c] = win[u][v + 1][c];
                    win[u][CFG::KW - 1][c] = col[u][c];
                }
        }
        if (y >= CFG::KH - 1 && x >= CFG::KW - 1) {
            for (int p = 0; p < CFG::PO; p++) {
                const int o = g * CFG::PO + p;
                if (o < CFG::C_OUT) {
                    typename CFG::acc_t acc = bias[o];
                    for (int c = 0; c < CFG::C_IN; c++)
                        for (int u = 0; u < CFG::KH; u++)
                            for (int v = 0; v < CFG::KW; v++)
                                acc += typename CFG::w_t(weight[o][c][u][v]) * win[u][v][c];
                    res.v[o] = epilogue<CFG>(acc, o, shift, slope, lo, hi, lut, zero);
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


// ---------------------------------------------------------------------------------------------
// Scheduled convolution: a multiplier budget that need not divide the work of one pixel.
//
// The padded frame is walked in periods of P consecutive positions (raster order, across row
// ends like the window above). A period takes T cycles; output o owns LANES[o] multipliers
// that work through its non-zero products (c, u, v) for the P positions in order, LANES[o] per
// cycle, so T / P cycles per position can be any fraction (12 / 5 = 2.4) and products with a
// zero weight (the sub-pixel taps a ConvTranspose does not have) cost nothing. The schedule is
// data: per cycle k, output o, lane l: the position q in the period, the operand (c, u, v) and
// the weight (0 = idle). Each lane therefore selects among at most T operands and T weights.
//
// Software pipeline, one slot of T cycles per period: slot s reads the P input columns of
// period s (cycles 0..P-1, into a staging buffer), computes period s - 1 on a window of
// KW + P - 1 columns, and writes period s - 2's P outputs (cycles 0..P-1, epilogue on write).
//
// CFG: the fields of conv_stage minus PO/GROUPS, plus P, T, LANES (the widest lane group).
template <class CFG>
void conv_sched_stage(hls::stream<vec<typename CFG::in_t, CFG::C_IN> >& in,
                      hls::stream<vec<typename CFG::out_t, CFG::C_OUT> >& out, int h, int w,
                      const typename CFG::ws_t sw[CFG::T][CFG::C_OUT][CFG::LANES],
                      const unsigned char sq[CFG::T][CFG::C_OUT][CFG::LANES],
                      const unsigned short sc[CFG::T][CFG::C_OUT][CFG::LANES],
                      const unsigned char su[CFG::T][CFG::C_OUT][CFG::LANES],
                      const unsigned char sv[CFG::T][CFG::C_OUT][CFG::LANES],
                      const typename CFG::acc_t bias[CFG::C_OUT], const int shift[CFG::C_OUT],
                      const typename CFG::slope_t slope[CFG::C_OUT], const int lo[CFG::C_OUT],
                      const int hi[CFG::C_OUT], const typename CFG::out_t lut[CFG::LUT_SIZE],
                      const int zero[CFG::C_OUT], const typename CFG::in_t pad[CFG::C_IN]) {
    typedef typename CFG::in_t in_t;
    typedef typename CFG::acc_t acc_t;
    const int KH = CFG::KH, KW = CFG::KW, P = CFG::P, T = CFG::T;
    const int LB = KH > 1 ? KH - 1 : 1;
    const int WC = KW + P - 1;  // window columns
    const int MAX_WP = CFG::MAX_W + CFG::PAD_L + CFG::PAD_R;
    static in_t line[LB][MAX_WP][CFG::C_IN];
#pragma HLS ARRAY_PARTITION variable=line complete dim=1
#pragma HLS ARRAY_PARTITION variable=line complete dim=3
    in_t win[KH][WC][CFG::C_IN];
    in_t stage[P][KH][CFG::C_IN];
    acc_t acc[P][CFG::C_OUT], done[P][CFG::C_OUT];
#pragma HLS ARRAY_PARTITION variable=win complete dim=0
#pragma HLS ARRAY_PARTITION variable=stage complete dim=0
#pragma HLS ARRAY_PARTITION variable=acc complete dim=0
#pragma HLS ARRAY_PARTITION variable=done complete dim=0
    for (int u = 0; u < KH; u++)
        for (int v = 0; v < WC; v++)
            for (int c = 0; c < CFG::C_IN; c++) win[u][v][c] = in_t(0);
    for (int q = 0; q < P; q++)
        for (int o = 0; o < CFG::C_OUT; o++) {
            acc[q][o] = bias[o];
            done[q][o] = acc_t(0);
        }

    const int hp = h + CFG::PAD_T + CFG::PAD_B;
    const int wp = w + CFG::PAD_L + CFG::PAD_R;
    const long positions = long(hp) * wp;
    const long periods = (positions + P - 1) / P;
    int ry = 0, rx = 0;  // the next position to read
    int wy = 0, wx = 0;  // the next position to write
    long rpos = 0, wpos = 0;
    for (long s = 0; s < periods + 2; s++) {
        for (int k = 0; k < T; k++) {
#pragma HLS PIPELINE II=1
            // 1. read one column of period s
            if (k < P && s < periods) {
                if (rpos < positions) {
                    next_column<CFG, LB, MAX_WP>(in, line, stage[k], ry, rx, h, w, pad);
                } else {  // past the frame's end, in the last period
                    for (int u = 0; u < KH; u++)
                        for (int c = 0; c < CFG::C_IN; c++) stage[k][u][c] = in_t(0);
                }
                rpos++;
                if (++rx == wp) {
                    rx = 0;
                    ++ry;
                }
            }
            // 2. compute period s - 1
            if (s >= 1 && s <= periods) {
                for (int o = 0; o < CFG::C_OUT; o++)
                    for (int l = 0; l < CFG::LANES; l++) {
                        const typename CFG::w_t wt = sw[k][o][l];  // ws_t storage -> w_t
                        if (wt != 0) {
                            const int q = sq[k][o][l];
                            acc[q][o] += wt * win[su[k][o][l]][sv[k][o][l] + q][sc[k][o][l]];
                        }
                    }
            }
            // 3. write period s - 2
            if (k < P && s >= 2 && wpos < positions) {
                if (wy >= KH - 1 && wx >= KW - 1) {
                    vec<typename CFG::out_t, CFG::C_OUT> res;
                    for (int o = 0; o < CFG::C_OUT; o++)
                        res.v[o] = epilogue<CFG>(done[k][o], o, shift, slope, lo, hi, lut, zero);
                    out.write(res);
                }
                wpos++;
                if (++wx == wp) {
                    wx = 0;
                    ++wy;
                }
            }
            // end of the slot: the computed period becomes `done`, the staged columns enter the window
            if (k == T - 1) {
                for (int q = 0; q < P; q++)
                    for (int o = 0; o < CFG::C_OUT; o++) {
                        done[q][o] = acc[q][o];
                        acc[q][o] = bias[o];
                    }
                for (int u = 0; u < KH; u++)
                    for (int c = 0; c < CFG::C_IN; c++) {
                        for (int v = 0; v + 1 < KW; v++) win[u][v][c] = win[u][v + P][c];
                        for (int q = 0; q < P; q++) win[u][KW - 1 + q][c] = stage[q][u][c];
                    }
            }
        }
    }
}

}  // namespace srhw

#endif  // SRHW_CONV_H
