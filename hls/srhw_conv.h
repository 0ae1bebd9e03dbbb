// Streaming 2-D convolution (stride 1, zero padding as ONNX pads) with a folded MAC array.
//
// Pixels arrive in raster order, one channel vector per element. A stage walks the padded
// frame (h + PAD_T + PAD_B rows of w + PAD_L + PAD_R positions) from row Y0 = min(PAD_T,
// KH - 1): the rows above it are padding and hold no output, so they are not walked; the
// window reads the padding code for every row above the image instead. It reads a pixel
// wherever the position lies inside the image and the padding code elsewhere (0, or the
// input's zero point when HAS_PAD: the code of real 0), so borders are exactly ONNX's zero
// padding. KH - 1 line buffers and a KH x KW window hold the neighbourhood; no frame buffer.
//
// Two folds (docs/hls.md says what hardware each one is):
// - conv_stage: PO outputs per cycle over GROUPS cycles per position. Group g's weights are one
//   word of a GROUPS-entry ROM, so each multiplier takes a window tap (a wire) and one of
//   GROUPS weights; GROUPS = 1 makes every weight a constant. With CHUNKS > 1 (a rate no
//   schedule reaches) each group's taps take CHUNKS cycles of SIMD: a multiplier takes one of
//   CHUNKS window taps and a weight from a GROUPS x CHUNKS-word ROM.
// - conv_sched_mac + conv_sched_out: P positions in T cycles; each multiplier (lane) selects
//   among T operands that are window taps fixed at compile time.
//
// Common CFG fields: C_IN, C_OUT, KH, KW, PAD_T, PAD_L, PAD_B, PAD_R, MAX_W (largest input
// width), in_t, out_t, w_t (weight arithmetic), ws_t (plain C++ integer type the weight tables
// are stored in), mul_t (a product: srhw.fixed.multiplier_width bits), LUT_MUL (1: weights and
// codes of at most 4 bits, whose products are bound to fabric), acc_t (from the overflow
// certificate: holds every partial sum), HAS_PAD, plus the epilogue's fields (srhw_epilogue.h).
#ifndef SRHW_CONV_H
#define SRHW_CONV_H

#include "srhw_epilogue.h"
#include "srhw_stream.h"

namespace srhw {

// The sum of N values as a balanced binary tree of adders (depth ceil(log2 N)), written out so
// that the association is the tree whatever the tool does with expression balancing; hls4ml
// reduces its dense layers the same way (nnet::reduce). The pipeline scheduler places
// registers between the tree's levels to meet the clock.
template <typename T, int N>
struct tree {
    static T sum(const T* x) {
#pragma HLS INLINE
        return tree<T, N / 2>::sum(x) + tree<T, N - N / 2>::sum(x + N / 2);
    }
};

template <typename T>
struct tree<T, 1> {
    static T sum(const T* x) {
#pragma HLS INLINE
        return x[0];
    }
};

template <typename T>
struct tree<T, 0> {
    static T sum(const T*) {
#pragma HLS INLINE
        return T(0);
    }
};

// A weight times a code, as wide as the product (mul_t). Where both operands are at most 4
// bits (LUT_MUL) the multiplier is bound to LUTs (UG1399 BIND_OP impl=fabric), as the plan
// counts it; elsewhere Vitis takes a DSP slice, or LUTs for a constant weight.
template <class CFG, bool LUT = CFG::LUT_MUL != 0>
struct product {
    static typename CFG::mul_t of(typename CFG::w_t w, typename CFG::in_t x) {
#pragma HLS INLINE
        const typename CFG::mul_t m = w * x;
        return m;
    }
};

template <class CFG>
struct product<CFG, true> {
    static typename CFG::mul_t of(typename CFG::w_t w, typename CFG::in_t x) {
#pragma HLS INLINE
        typename CFG::mul_t m = w * x;
#pragma HLS BIND_OP variable=m op=mul impl=fabric
        return m;
    }
};

// The first walked row: the rows above it are all padding and precede every output.
template <class CFG>
struct walk {
    static const int Y0 = CFG::PAD_T < CFG::KH - 1 ? CFG::PAD_T : CFG::KH - 1;
    static const int LB = CFG::KH > 1 ? CFG::KH - 1 : 1;  // line buffers
    static const int MAX_WP = CFG::MAX_W + CFG::PAD_L + CFG::PAD_R;
};

// The column of the padded frame at (y, x), oldest row first: the KH - 1 rows the line buffer
// holds at column x (the padding code for rows above the image, which the walk skips), then
// the new pixel (read from `in` inside the image, the padding code outside). The line buffer
// moves up one row at column x: one read and one write per line buffer and cycle, at address x.
template <class CFG>
void next_column(hls::stream<vec<typename CFG::in_t, CFG::C_IN> >& in,
                 typename CFG::in_t line[walk<CFG>::LB][walk<CFG>::MAX_WP][CFG::C_IN],
                 typename CFG::in_t col[CFG::KH][CFG::C_IN], int y, int x, int h, int w,
                 const typename CFG::in_t pad[CFG::C_IN]) {
#pragma HLS INLINE
    typedef typename CFG::in_t in_t;
    const int LB = walk<CFG>::LB;
    const bool inside = y >= CFG::PAD_T && y < CFG::PAD_T + h && x >= CFG::PAD_L && x < CFG::PAD_L + w;
    vec<in_t, CFG::C_IN> px;
    if (inside) {
        px = in.read();
    } else {
        for (int c = 0; c < CFG::C_IN; c++) px.v[c] = CFG::HAS_PAD ? pad[c] : in_t(0);
    }
    for (int c = 0; c < CFG::C_IN; c++) {
        const in_t padc = CFG::HAS_PAD ? pad[c] : in_t(0);
        for (int u = 0; u + 1 < CFG::KH; u++) col[u][c] = y + u < CFG::PAD_T + CFG::KH - 1 ? padc : line[u][x][c];
        col[CFG::KH - 1][c] = px.v[c];
        for (int u = 0; u + 2 < CFG::KH; u++) line[u][x][c] = line[u + 1][x][c];
        if (CFG::KH > 1) line[LB - 1][x][c] = px.v[c];
    }
}

// ---------------------------------------------------------------------------------------------
// Output groups and input chunks. CFG adds PO, GROUPS, CHUNKS, SIMD (SIMD * CHUNKS >= the
// C_IN * KH * KW taps; CHUNKS = 1: every tap at once). Tables, one word per step k = g * CHUNKS
// + s (outputs g * PO + p, zeros past C_OUT): weight[k][p][j], the weight of tap s * SIMD + j
// (tap (c * KH + u) * KW + v, zeros past the last); per group: bias, shift, slope, lo, hi, zero,
// mult [g][p]; the tanh table lut; pad[C_IN] (padding codes).
//
// Per step: PO dot products of SIMD taps (adder trees). With CHUNKS > 1 a position's output
// group takes CHUNKS steps: chunk s's taps are one of CHUNKS window slices (a CHUNKS:1
// multiplexer per tap, shared by the PO outputs), and each output's running sum is one register
// and one adder, carried from step to step (the bias enters at chunk 0). The group's last chunk
// goes through the epilogue and is shifted into a GROUPS x PO result register; the last group
// writes the vector.
template <class CFG>
void conv_stage(hls::stream<vec<typename CFG::in_t, CFG::C_IN> >& in,
                hls::stream<vec<typename CFG::out_t, CFG::C_OUT> >& out, int h, int w,
                const typename CFG::ws_t weight[CFG::GROUPS * CFG::CHUNKS][CFG::PO][CFG::SIMD],
                const typename CFG::acc_t bias[CFG::GROUPS][CFG::PO], const int shift[CFG::GROUPS][CFG::PO],
                const typename CFG::slope_t slope[CFG::GROUPS][CFG::PO], const int lo[CFG::GROUPS][CFG::PO],
                const int hi[CFG::GROUPS][CFG::PO], const int zero[CFG::GROUPS][CFG::PO],
                const typename CFG::mult_t mult[CFG::GROUPS][CFG::PO],
                const typename CFG::out_t lut[CFG::LUT_SIZE], const typename CFG::in_t pad[CFG::C_IN]) {
    typedef typename CFG::in_t in_t;
    typedef typename CFG::acc_t acc_t;
    typedef typename CFG::out_t out_t;
    const int KH = CFG::KH, KW = CFG::KW, PO = CFG::PO, GROUPS = CFG::GROUPS;
    const int CHUNKS = CFG::CHUNKS, SIMD = CFG::SIMD, STEPS = CFG::GROUPS * CFG::CHUNKS;
    // a ROM of GROUPS x CHUNKS words (a constant when both are 1): a step's weights in one read
#pragma HLS ARRAY_PARTITION variable=weight complete dim=2
#pragma HLS ARRAY_PARTITION variable=weight complete dim=3
#pragma HLS ARRAY_PARTITION variable=bias complete dim=2
#pragma HLS ARRAY_PARTITION variable=shift complete dim=2
#pragma HLS ARRAY_PARTITION variable=slope complete dim=2
#pragma HLS ARRAY_PARTITION variable=lo complete dim=2
#pragma HLS ARRAY_PARTITION variable=hi complete dim=2
#pragma HLS ARRAY_PARTITION variable=zero complete dim=2
#pragma HLS ARRAY_PARTITION variable=mult complete dim=2
#pragma HLS ARRAY_PARTITION variable=lut complete
#pragma HLS ARRAY_PARTITION variable=pad complete
    static in_t line[walk<CFG>::LB][walk<CFG>::MAX_WP][CFG::C_IN];
#pragma HLS ARRAY_PARTITION variable=line complete dim=1
#pragma HLS ARRAY_PARTITION variable=line complete dim=3
    in_t win[KH][KW][CFG::C_IN];
#pragma HLS ARRAY_PARTITION variable=win complete dim=0
    out_t res[GROUPS][PO];
    acc_t run[PO];
#pragma HLS ARRAY_PARTITION variable=res complete dim=0
#pragma HLS ARRAY_PARTITION variable=run complete
    for (int u = 0; u < KH; u++)
        for (int v = 0; v < KW; v++)
            for (int c = 0; c < CFG::C_IN; c++) win[u][v][c] = in_t(0);
    for (int g = 0; g < GROUPS; g++)
        for (int p = 0; p < PO; p++) res[g][p] = out_t(0);
    for (int p = 0; p < PO; p++) run[p] = acc_t(0);

    const int y0 = walk<CFG>::Y0;
    const int hp = h + CFG::PAD_T + CFG::PAD_B;
    const int wp = w + CFG::PAD_L + CFG::PAD_R;
    int y = y0, x = 0, g = 0, s = 0, k = 0;  // k = g * CHUNKS + s, the step's ROM word
    const long n = long(hp - y0) * wp * STEPS;
    for (long it = 0; it < n; it++) {
#pragma HLS PIPELINE II=1 style=flp
        if (k == 0) {
            in_t col[KH][CFG::C_IN];
#pragma HLS ARRAY_PARTITION variable=col complete dim=0
            next_column<CFG>(in, line, col, y, x, h, w, pad);
            for (int u = 0; u < KH; u++)
                for (int c = 0; c < CFG::C_IN; c++) {
                    for (int v = 0; v + 1 < KW; v++) win[u][v][c] = win[u][v + 1][c];
                    win[u][KW - 1][c] = col[u][c];
                }
        }
        if (y >= KH - 1 && x >= KW - 1) {
            // the window as CHUNKS slices of SIMD taps: wiring (every index a constant)
            in_t taps[CHUNKS][SIMD];
#pragma HLS ARRAY_PARTITION variable=taps complete dim=0
            for (int j = 0; j < CHUNKS * SIMD; j++) taps[j / SIMD][j % SIMD] = in_t(0);
            for (int c = 0; c < CFG::C_IN; c++)
                for (int u = 0; u < KH; u++)
                    for (int v = 0; v < KW; v++) {
                        const int t = (c * KH + u) * KW + v;
                        taps[t / SIMD][t % SIMD] = win[u][v][c];
                    }
            out_t grp[PO];
#pragma HLS ARRAY_PARTITION variable=grp complete
            for (int p = 0; p < PO; p++) {
                acc_t prod[SIMD];
#pragma HLS ARRAY_PARTITION variable=prod complete
                for (int j = 0; j < SIMD; j++)
                    prod[j] = product<CFG>::of(typename CFG::w_t(weight[k][p][j]), taps[s][j]);
                const acc_t acc = (s == 0 ? bias[g][p] : run[p]) + tree<acc_t, SIMD>::sum(prod);
                run[p] = acc;
                grp[p] = epilogue<CFG>(acc, shift[g][p], slope[g][p], lo[g][p], hi[g][p], zero[g][p], lut, mult[g][p]);
            }
            if (s == CHUNKS - 1) {
                for (int j = 0; j + 1 < GROUPS; j++)
                    for (int p = 0; p < PO; p++) res[j][p] = res[j + 1][p];
                for (int p = 0; p < PO; p++) res[GROUPS - 1][p] = grp[p];
                if (g == GROUPS - 1) {
                    vec<out_t, CFG::C_OUT> v;
                    for (int o = 0; o < CFG::C_OUT; o++) v.v[o] = res[o / PO][o % PO];
                    out.write(v);
                }
            }
        }
        if (++s == CHUNKS) {
            s = 0;
            ++g;
        }
        if (++k == STEPS) {
            k = 0;
            g = 0;
            if (++x == wp) {
                x = 0;
                ++y;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Scheduled convolution: a multiplier budget that need not divide the work of one position.
//
// The walked frame is taken in periods of P consecutive positions (raster order, across row
// ends like the window above); a period takes a slot of T cycles, so T / P cycles per position
// can be any fraction (12 / 5 = 2.4). Output o owns lanes (multipliers) that work through its
// non-zero products (position q, then c, u, v) lane by lane: lane l does products l * T ..
// l * T + T - 1, one per cycle k of the slot (srhw.backends.folding.schedule_tables). Products
// with a zero weight (the sub-pixel taps a ConvTranspose does not have) are never scheduled.
//
// Hardware per lane: a T:1 multiplexer over window taps fixed at compile time, a ROM of T
// weights, one multiplier. Per (position q, output o): the lanes whose products fall in q are
// a few consecutive lanes (first[o][q], count[o][q] <= SPAN), summed by one adder tree, each
// term gated by whether the lane's product at cycle k belongs to q; one accumulator add.
//
// Two dataflow processes, so that no value crosses a slot boundary inside a pipeline:
// conv_sched_mac reads the P columns of period s (cycles 0..P-1 of slot s, into a staging
// buffer) while it computes period s - 1 on a window of KW + P - 1 columns, and writes the
// period's P x C_OUT sums at the slot's end; conv_sched_out takes them and writes the P
// positions' outputs in P cycles (epilogue on write).
//
// CFG adds P, T, LANES (lanes of the widest output), SPAN (lanes per tree). Tables (per output
// o, lane l, cycle k): tap[o][l][k] (the window tap, (u * (KW + P - 1) + v) * C_IN + c),
// wt[o][l][k] (the weight; 0 = idle), pos[o][l][k] (the position q in the period); first[o][q],
// count[o][q]; bias[C_OUT]; pad[C_IN].
template <typename T, int P, int N>
struct period {
    T v[P][N];
};

template <class CFG>
void conv_sched_mac(hls::stream<vec<typename CFG::in_t, CFG::C_IN> >& in,
                    hls::stream<period<typename CFG::acc_t, CFG::P, CFG::C_OUT> >& sums, int h, int w,
                    const unsigned short tap[CFG::C_OUT][CFG::LANES][CFG::T],
                    const typename CFG::ws_t wt[CFG::C_OUT][CFG::LANES][CFG::T],
                    const unsigned char pos[CFG::C_OUT][CFG::LANES][CFG::T],
                    const unsigned short first[CFG::C_OUT][CFG::P], const unsigned short count[CFG::C_OUT][CFG::P],
                    const typename CFG::acc_t bias[CFG::C_OUT], const typename CFG::in_t pad[CFG::C_IN]) {
    typedef typename CFG::in_t in_t;
    typedef typename CFG::acc_t acc_t;
    const int KH = CFG::KH, KW = CFG::KW, P = CFG::P, T = CFG::T, C_IN = CFG::C_IN, C_OUT = CFG::C_OUT;
    const int WC = KW + P - 1;  // window columns
    const int LANES = CFG::LANES, SPAN = CFG::SPAN;
    // the structure of the schedule: constants (every element its own constant after partitioning)
#pragma HLS ARRAY_PARTITION variable=tap complete dim=0
#pragma HLS ARRAY_PARTITION variable=first complete dim=0
#pragma HLS ARRAY_PARTITION variable=count complete dim=0
#pragma HLS ARRAY_PARTITION variable=bias complete
#pragma HLS ARRAY_PARTITION variable=pad complete
    // per lane, a ROM of T weights and one of T positions, read at address k
#pragma HLS ARRAY_PARTITION variable=wt complete dim=1
#pragma HLS ARRAY_PARTITION variable=wt complete dim=2
#pragma HLS ARRAY_PARTITION variable=pos complete dim=1
#pragma HLS ARRAY_PARTITION variable=pos complete dim=2
    static in_t line[walk<CFG>::LB][walk<CFG>::MAX_WP][C_IN];
#pragma HLS ARRAY_PARTITION variable=line complete dim=1
#pragma HLS ARRAY_PARTITION variable=line complete dim=3
    in_t win[KH * WC * C_IN];
    in_t stage[P][KH][C_IN];
    acc_t acc[P][C_OUT];
#pragma HLS ARRAY_PARTITION variable=win complete
#pragma HLS ARRAY_PARTITION variable=stage complete dim=0
#pragma HLS ARRAY_PARTITION variable=acc complete dim=0
    for (int i = 0; i < KH * WC * C_IN; i++) win[i] = in_t(0);
    for (int q = 0; q < P; q++)
        for (int o = 0; o < C_OUT; o++) acc[q][o] = bias[o];

    const int y0 = walk<CFG>::Y0;
    const int wp = w + CFG::PAD_L + CFG::PAD_R;
    const long positions = long(h + CFG::PAD_T + CFG::PAD_B - y0) * wp;
    const long periods = (positions + P - 1) / P;
    int ry = y0, rx = 0;  // the next position to read
    long rpos = 0;
    for (long s = 0; s <= periods; s++) {
        for (int k = 0; k < T; k++) {
#pragma HLS PIPELINE II=1 style=flp
            // 1. read one column of period s
            if (k < P && s < periods) {
                if (rpos < positions) {
                    next_column<CFG>(in, line, stage[k], ry, rx, h, w, pad);
                } else {  // past the frame's end, in the last period
                    for (int u = 0; u < KH; u++)
                        for (int c = 0; c < C_IN; c++) stage[k][u][c] = in_t(0);
                }
                rpos++;
                if (++rx == wp) {
                    rx = 0;
                    ++ry;
                }
            }
            // 2. compute period s - 1: every lane's product of cycle k, then one tree per (q, o)
            if (s >= 1) {
                acc_t prod[C_OUT][LANES];
                unsigned char at[C_OUT][LANES];
#pragma HLS ARRAY_PARTITION variable=prod complete dim=0
#pragma HLS ARRAY_PARTITION variable=at complete dim=0
                for (int o = 0; o < C_OUT; o++)
                    for (int l = 0; l < LANES; l++) {
                        in_t cand[T];  // the lane's operands, fixed taps of the window
#pragma HLS ARRAY_PARTITION variable=cand complete
                        for (int j = 0; j < T; j++) cand[j] = win[tap[o][l][j]];
                        prod[o][l] = product<CFG>::of(typename CFG::w_t(wt[o][l][k]), cand[k]);
                        at[o][l] = pos[o][l][k];
                    }
                for (int o = 0; o < C_OUT; o++)
                    for (int q = 0; q < P; q++) {
                        acc_t term[SPAN];
#pragma HLS ARRAY_PARTITION variable=term complete
                        for (int j = 0; j < SPAN; j++) {
                            term[j] = acc_t(0);
                            if (j < count[o][q]) {
                                const int l = first[o][q] + j;
                                if (at[o][l] == q) term[j] = prod[o][l];
                            }
                        }
                        acc[q][o] += tree<acc_t, SPAN>::sum(term);
                    }
            }
            // end of the slot: the computed period goes out, the staged columns enter the window
            if (k == T - 1) {
                period<acc_t, P, C_OUT> done;
                for (int q = 0; q < P; q++)
                    for (int o = 0; o < C_OUT; o++) {
                        done.v[q][o] = acc[q][o];
                        acc[q][o] = bias[o];
                    }
                if (s >= 1) sums.write(done);
                for (int u = 0; u < KH; u++)
                    for (int c = 0; c < C_IN; c++) {
                        for (int v = 0; v + 1 < KW; v++) win[(u * WC + v) * C_IN + c] = win[(u * WC + v + P) * C_IN + c];
                        for (int q = 0; q < P; q++) win[(u * WC + KW - 1 + q) * C_IN + c] = stage[q][u][c];
                    }
            }
        }
    }
}

// The scheduled stage's output side: one position per cycle, P per period of sums. CFG as for
// conv_sched_mac; per-channel epilogue tables (constants: the channel loop unrolls).
template <class CFG>
void conv_sched_out(hls::stream<period<typename CFG::acc_t, CFG::P, CFG::C_OUT> >& sums,
                    hls::stream<vec<typename CFG::out_t, CFG::C_OUT> >& out, int h, int w,
                    const int shift[CFG::C_OUT], const typename CFG::slope_t slope[CFG::C_OUT],
                    const int lo[CFG::C_OUT], const int hi[CFG::C_OUT], const int zero[CFG::C_OUT],
                    const typename CFG::mult_t mult[CFG::C_OUT], const typename CFG::out_t lut[CFG::LUT_SIZE]) {
    const int P = CFG::P, C_OUT = CFG::C_OUT;
#pragma HLS ARRAY_PARTITION variable=mult complete
#pragma HLS ARRAY_PARTITION variable=shift complete
#pragma HLS ARRAY_PARTITION variable=slope complete
#pragma HLS ARRAY_PARTITION variable=lo complete
#pragma HLS ARRAY_PARTITION variable=hi complete
#pragma HLS ARRAY_PARTITION variable=zero complete
#pragma HLS ARRAY_PARTITION variable=lut complete
    typename CFG::acc_t blk[P][C_OUT];
#pragma HLS ARRAY_PARTITION variable=blk complete dim=0
    const int y0 = walk<CFG>::Y0;
    const int wp = w + CFG::PAD_L + CFG::PAD_R;
    const long positions = long(h + CFG::PAD_T + CFG::PAD_B - y0) * wp;
    const long n = (positions + P - 1) / P * P;
    int wy = y0, wx = 0, q = 0;
    for (long i = 0; i < n; i++) {
#pragma HLS PIPELINE II=1 style=flp
        if (q == 0) {
            const period<typename CFG::acc_t, P, C_OUT> got = sums.read();
            for (int j = 0; j < P; j++)
                for (int o = 0; o < C_OUT; o++) blk[j][o] = got.v[j][o];
        }
        if (i < positions && wy >= CFG::KH - 1 && wx >= CFG::KW - 1) {
            vec<typename CFG::out_t, C_OUT> res;
            for (int o = 0; o < C_OUT; o++)
                res.v[o] = epilogue<CFG>(blk[q][o], shift[o], slope[o], lo[o], hi[o], zero[o], lut, mult[o]);
            out.write(res);
        }
        if (++q == P) q = 0;
        if (++wx == wp) {
            wx = 0;
            ++wy;
        }
    }
}

}  // namespace srhw

#endif  // SRHW_CONV_H
