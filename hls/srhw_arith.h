// srhw fixed-point primitives: the integer semantics of docs/arithmetic.md, section 2.
//
// Header-only and written for both g++ (C-simulation, tests) and Vitis HLS: T is any signed
// integer type with arithmetic right shift (int64_t, ap_int<N>). Every requantization in the
// generated kernels goes through round_shift() then saturate(), nothing else rounds.
#ifndef SRHW_ARITH_H
#define SRHW_ARITH_H

namespace srhw {

// a * 2^-s rounded half up (ties toward +infinity); s <= 0 is an exact left shift.
// Written as a multiply for s <= 0 because left-shifting a negative value is undefined
// before C++20; HLS maps the constant power of two to wiring.
template <typename T>
inline T round_shift(T a, int s) {
    if (s > 0) {
        const T half = T(1) << (s - 1);
        return (a + half) >> s;
    }
    return a * (T(1) << (-s));
}

// a * 2^-s rounded half to even (ONNX QuantizeLinear's rounding, for models quantized already):
// the half-up sum t = a + 2^(s-1); where its low s bits are all zero the bits shifted out were
// exactly the half (a tie), and the result's lowest bit is cleared (an odd result goes down to the
// even one). The adder is the half-up one; s <= 0 as round_shift.
template <typename T>
inline T round_shift_even(T a, int s) {
    if (s > 0) {
        const T t = a + (T(1) << (s - 1));
        const T r = t >> s;
        const bool tie = (t & ((T(1) << s) - 1)) == 0;
        return tie ? T(r & ~T(1)) : r;
    }
    return a * (T(1) << (-s));
}

// Clamp to [lo, hi]: the only way a value leaves a format's range is by saturating here.
template <typename T>
inline T saturate(T v, T lo, T hi) {
    return v < lo ? lo : (v > hi ? hi : v);
}

// The code range of a W-bit format.
template <typename T>
inline T fmt_lo(int width, bool is_signed) {
    return is_signed ? -(T(1) << (width - 1)) : T(0);
}

template <typename T>
inline T fmt_hi(int width, bool is_signed) {
    return is_signed ? (T(1) << (width - 1)) - 1 : (T(1) << width) - 1;
}

}  // namespace srhw

#endif  // SRHW_ARITH_H
