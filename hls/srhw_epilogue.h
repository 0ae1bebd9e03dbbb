// The requantization epilogue of docs/arithmetic.md (section 3, "Epilogue"): accumulator ->
// output code, with the layer's activation. One function for Conv, Affine and Add.
//
// CFG supplies: wide_t (a signed ap_int wide enough for every intermediate; the backend
// derives its width from the overflow certificate), out_t, ACT, OUT_LO/OUT_HI, SLOPE_FRAC,
// LUT_LO/LUT_HI, HAS_ZERO, HAS_MULT, HALF_EVEN, mult_t. The caller passes the output channel's
// parameters: shift (acc_frac - out_frac, or acc_frac - lut frac for tanh), slope, lo/hi (clip),
// zero (the output's zero point, added before the saturation; used only when HAS_ZERO), the tanh
// table, and mult: the accumulator's integer multiplier of a model quantized already (used only
// when HAS_MULT; HALF_EVEN then rounds as ONNX QuantizeLinear does). Where the
// channel is a compile-time constant (a scheduled layer, Affine, Add) every parameter is a
// constant and the shifts are wiring; an output-group fold reads them from the group's ROM word.
#ifndef SRHW_EPILOGUE_H
#define SRHW_EPILOGUE_H

#include "srhw_arith.h"

namespace srhw {

enum act_kind { ACT_NONE = 0, ACT_RELU = 1, ACT_CLIP = 2, ACT_PRELU = 3, ACT_TANH = 4 };

template <class CFG, typename W>
inline W requant_shift(W a, int s) {
#pragma HLS INLINE
    return CFG::HALF_EVEN ? round_shift_even<W>(a, s) : round_shift<W>(a, s);
}

template <class CFG, typename ACC>
typename CFG::out_t epilogue(ACC acc, int shift, typename CFG::slope_t slope, int lo, int hi, int zero,
                             const typename CFG::out_t lut[CFG::LUT_SIZE], typename CFG::mult_t mult = 1) {
#pragma HLS INLINE
    typedef typename CFG::wide_t W;
    // a conv of a model quantized already: acc * mult is exact at acc's width plus mult's (its
    // epilogue has no PReLU, whose product bound does not include mult)
    static_assert(!(CFG::HAS_MULT && CFG::ACT == ACT_PRELU), "no PReLU after an integer multiplier");
    const W a = CFG::HAS_MULT ? W(acc * mult) : W(acc);
    if (CFG::ACT == ACT_TANH) {
        const W i = saturate<W>(requant_shift<CFG, W>(a, shift), W(CFG::LUT_LO), W(CFG::LUT_HI));
        return lut[int(i - W(CFG::LUT_LO))];
    }
    W y = requant_shift<CFG, W>(a, shift);
    if (CFG::ACT == ACT_PRELU && a < 0) {
        const W p = a * slope;
        y = requant_shift<CFG, W>(p, shift + CFG::SLOPE_FRAC);
    }
    if (CFG::ACT == ACT_RELU && y < 0) y = 0;
    if (CFG::ACT == ACT_CLIP) y = saturate<W>(y, W(lo), W(hi));
    if (CFG::HAS_ZERO) y += W(zero);
    return typename CFG::out_t(saturate<W>(y, W(CFG::OUT_LO), W(CFG::OUT_HI)));
}

}  // namespace srhw

#endif  // SRHW_EPILOGUE_H
