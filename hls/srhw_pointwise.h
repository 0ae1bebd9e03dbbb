// Per-pixel stages: Affine (a per-channel scale and offset), the residual Add of two tensors
// with format alignment (docs/arithmetic.md, section 3) and a model's code tables. One pixel per cycle: the
// channel loops unroll, so every table is read at a constant channel and is a constant
// (completely partitioned), and the tanh table is one ROM in LUTs per channel.
#ifndef SRHW_POINTWISE_H
#define SRHW_POINTWISE_H

#include "srhw_epilogue.h"
#include "srhw_stream.h"

namespace srhw {

// CFG: C, in_t, out_t, s_t (scale codes), acc_t, epilogue fields.
template <class CFG>
void affine_stage(hls::stream<vec<typename CFG::in_t, CFG::C> >& in,
                  hls::stream<vec<typename CFG::out_t, CFG::C> >& out, int h, int w,
                  const typename CFG::s_t scale[CFG::C], const typename CFG::acc_t bias[CFG::C],
                  const int shift[CFG::C], const typename CFG::slope_t slope[CFG::C], const int lo[CFG::C],
                  const int hi[CFG::C], const typename CFG::out_t lut[CFG::LUT_SIZE]) {
#pragma HLS ARRAY_PARTITION variable=scale complete
#pragma HLS ARRAY_PARTITION variable=bias complete
#pragma HLS ARRAY_PARTITION variable=shift complete
#pragma HLS ARRAY_PARTITION variable=slope complete
#pragma HLS ARRAY_PARTITION variable=lo complete
#pragma HLS ARRAY_PARTITION variable=hi complete
#pragma HLS ARRAY_PARTITION variable=lut complete
    const long n = long(h) * w;
    for (long i = 0; i < n; i++) {
#pragma HLS PIPELINE II=1
        const vec<typename CFG::in_t, CFG::C> px = in.read();
        vec<typename CFG::out_t, CFG::C> res;
        for (int c = 0; c < CFG::C; c++) {
            const typename CFG::acc_t acc = px.v[c] * scale[c] + bias[c];
            res.v[c] = epilogue<CFG>(acc, shift[c], slope[c], lo[c], hi[c], 0, lut);
        }
        out.write(res);
    }
}

// acc[c] = (A[c] << ALIGN_A[c]) + (B[c] << ALIGN_B[c]). CFG: C, a_t, b_t, out_t, acc_t, epilogue fields.
template <class CFG>
void add_stage(hls::stream<vec<typename CFG::a_t, CFG::C> >& a, hls::stream<vec<typename CFG::b_t, CFG::C> >& b,
               hls::stream<vec<typename CFG::out_t, CFG::C> >& out, int h, int w, const int align_a[CFG::C],
               const int align_b[CFG::C], const int shift[CFG::C], const typename CFG::slope_t slope[CFG::C],
               const int lo[CFG::C], const int hi[CFG::C], const typename CFG::out_t lut[CFG::LUT_SIZE]) {
#pragma HLS ARRAY_PARTITION variable=align_a complete
#pragma HLS ARRAY_PARTITION variable=align_b complete
#pragma HLS ARRAY_PARTITION variable=shift complete
#pragma HLS ARRAY_PARTITION variable=slope complete
#pragma HLS ARRAY_PARTITION variable=lo complete
#pragma HLS ARRAY_PARTITION variable=hi complete
#pragma HLS ARRAY_PARTITION variable=lut complete
    const long n = long(h) * w;
    for (long i = 0; i < n; i++) {
#pragma HLS PIPELINE II=1
        const vec<typename CFG::a_t, CFG::C> pa = a.read();
        const vec<typename CFG::b_t, CFG::C> pb = b.read();
        vec<typename CFG::out_t, CFG::C> res;
        for (int c = 0; c < CFG::C; c++) {
            const typename CFG::acc_t acc = round_shift<typename CFG::acc_t>(pa.v[c], -align_a[c]) +
                                            round_shift<typename CFG::acc_t>(pb.v[c], -align_b[c]);
            res.v[c] = epilogue<CFG>(acc, shift[c], slope[c], lo[c], hi[c], 0, lut);
        }
        out.write(res);
    }
}

// A model quantized already: each channel's codes mapped by its table (docs/arithmetic.md, Table),
// out[c] = table[c][x[c] - IN_LO]. One pixel per cycle, one ROM per channel (dim 1 partitioned).
// CFG: C, N (entries per channel), IN_LO, in_t, out_t.
template <class CFG>
void table_stage(hls::stream<vec<typename CFG::in_t, CFG::C> >& in, hls::stream<vec<typename CFG::out_t, CFG::C> >& out,
                 int h, int w, const typename CFG::out_t table[CFG::C][CFG::N]) {
#pragma HLS ARRAY_PARTITION variable=table complete dim=1
    const long n = long(h) * w;
    for (long i = 0; i < n; i++) {
#pragma HLS PIPELINE II=1
        const vec<typename CFG::in_t, CFG::C> px = in.read();
        vec<typename CFG::out_t, CFG::C> res;
        for (int c = 0; c < CFG::C; c++) res.v[c] = table[c][int(px.v[c]) - CFG::IN_LO];
        out.write(res);
    }
}

// One tensor read by two stages: every element goes to both outputs.
template <typename T, int N>
void fork_stage(hls::stream<vec<T, N> >& in, hls::stream<vec<T, N> >& out0, hls::stream<vec<T, N> >& out1, int h,
                int w) {
    const long n = long(h) * w;
    for (long i = 0; i < n; i++) {
#pragma HLS PIPELINE II=1
        const vec<T, N> px = in.read();
        out0.write(px);
        out1.write(px);
    }
}

}  // namespace srhw

#endif  // SRHW_POINTWISE_H
