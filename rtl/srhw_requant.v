// The requantization epilogue of docs/arithmetic.md (section 3): accumulator -> output code,
// with the layer's activation, pipelined over LAT = 5 register stages (advancing on `en`).
// The same steps, in the same order, as hls/srhw_epilogue.h:
//   none/relu/clip:  y = round_shift(acc, shift); relu: max(y, 0); clip: clamp(y, lo, hi)
//   prelu:           acc < 0 ? round_shift(acc * slope, shift + SLOPE_FRAC) : round_shift(acc, shift)
//   tanh:            lut_addr = clamp(round_shift(acc, shift), LUT_LO, LUT_HI) - LUT_LO
// then the zero point is added (y + zero) and the sum saturated to [OUT_LO, OUT_HI].
// round_shift(a, s) = floor((a + 2^(s-1)) / 2^s) for s > 0 (round half up) and a * 2^-s
// otherwise. EW, the working width, comes from the overflow certificate, so no intermediate
// can wrap. A model quantized already (HAS_MULT, HALF_EVEN: QLinearConv's requantizer)
// multiplies the accumulator by the channel's integer multiplier `mult` first, and rounds half
// to even: where the half-up sum's low s bits are all zero (a tie), the result's lowest bit is
// cleared (srhw_arith.h, round_shift_even).
//
// Stages (each ends in a register): 1 the operands, the PReLU product or the multiplier's
// (a DSP with its output register) and the rounding halves; 2 add the halves; 3 shift (and
// whether it was a tie); 4 the tie's correction, activation, clip and zero point (and the tanh
// LUT address); 5 saturation, or the tanh code read back from the LUT (lut_addr -> lut_data,
// outside, combinational). Where shift, slope, lo, hi and zero are constants (a scheduled
// layer: one lane per output channel) the halves and shifts are wiring.
`default_nettype none
module srhw_requant #(
    parameter integer ACC_W = 24,     // accumulator width
    parameter integer EW = 32,        // working width (>= ACC_W)
    parameter integer OW = 8,         // output code width
    parameter integer SH_W = 8,       // signed shift field width
    parameter integer SLOPE_W = 2,    // signed PReLU slope width
    parameter integer SLOPE_FRAC = 0,
    parameter integer ACT = 0,        // 0 none, 1 relu, 2 clip, 3 prelu, 4 tanh
    parameter integer OUT_LO = 0,
    parameter integer OUT_HI = 255,
    parameter integer LUT_LO = 0,
    parameter integer LUT_HI = 0,
    parameter integer LUT_AW = 1,
    parameter integer HAS_MULT = 0,   // acc * mult before the shift
    parameter integer MULT_W = 1,     // the multiplier's width (unsigned)
    parameter integer HALF_EVEN = 0   // round half to even rather than half up
) (
    input  wire                      clk,
    input  wire                      en,
    input  wire signed [ACC_W-1:0]   acc,
    input  wire        [MULT_W-1:0]  mult,
    input  wire signed [SH_W-1:0]    shift,
    input  wire signed [SLOPE_W-1:0] slope,
    input  wire signed [EW-1:0]      lo,
    input  wire signed [EW-1:0]      hi,
    input  wire signed [EW-1:0]      zero,
    output reg         [OW-1:0]      code,
    output reg         [LUT_AW-1:0]  lut_addr,
    input  wire        [OW-1:0]      lut_data
);
    localparam integer SW = SH_W + 1;  // shift + SLOPE_FRAC fits

    function signed [EW-1:0] half_of;  // 2^(s-1) for s > 0, else 0
        input signed [SW-1:0] s;
        reg signed [EW-1:0] one;
        begin
            one = 1;
            half_of = s > 0 ? one <<< (s - 1) : 0;
        end
    endfunction

    function signed [EW-1:0] shifted;  // a >>> s for s > 0, a <<< -s otherwise
        input signed [EW-1:0] a;
        input signed [SW-1:0] s;
        reg [SW-1:0] n;
        begin
            n = s > 0 ? s : -s;
            shifted = s > 0 ? a >>> n : a <<< n;
        end
    endfunction

    function tie_of;  // the low s bits of a are all zero (s > 0): a half-up sum was exactly a tie
        input signed [EW-1:0] a;
        input signed [SW-1:0] s;
        reg signed [EW-1:0] one;
        begin
            one = 1;
            tie_of = s > 0 && (a & ((one <<< s) - 1)) == 0;
        end
    endfunction

    function signed [EW-1:0] clamp;
        input signed [EW-1:0] v;
        input signed [EW-1:0] l;
        input signed [EW-1:0] h;
        clamp = v < l ? l : (v > h ? h : v);
    endfunction

    // 1: operands, product, halves
    reg signed [EW-1:0] a1, p1, h1, hn1, lo1, hi1, z1;
    reg signed [SW-1:0] s1, sn1;
    always @(posedge clk) if (en) begin
        a1 <= HAS_MULT ? acc * $signed({1'b0, mult}) : acc;
        p1 <= ACT == 3 ? acc * slope : 0;  // (an unsigned 0 here would make the product unsigned)
        s1 <= shift;
        sn1 <= shift + SLOPE_FRAC;
        h1 <= half_of(shift);
        hn1 <= half_of(shift + SLOPE_FRAC);
        lo1 <= lo;
        hi1 <= hi;
        z1 <= zero;
    end

    // 2: add the rounding halves
    reg signed [EW-1:0] b2, bn2, lo2, hi2, z2;
    reg signed [SW-1:0] s2, sn2;
    reg neg2;
    always @(posedge clk) if (en) begin
        b2 <= a1 + h1;
        bn2 <= p1 + hn1;
        neg2 <= a1 < 0;
        s2 <= s1;
        sn2 <= sn1;
        lo2 <= lo1;
        hi2 <= hi1;
        z2 <= z1;
    end

    // 3: shift, and whether the bits shifted out were exactly the half
    reg signed [EW-1:0] y3, yn3, lo3, hi3, z3;
    reg neg3, tie3, tien3;
    always @(posedge clk) if (en) begin
        y3 <= shifted(b2, s2);
        yn3 <= shifted(bn2, sn2);
        tie3 <= HALF_EVEN != 0 && tie_of(b2, s2);
        tien3 <= HALF_EVEN != 0 && tie_of(bn2, sn2);
        neg3 <= neg2;
        lo3 <= lo2;
        hi3 <= hi2;
        z3 <= z2;
    end

    // 4: a tie goes to the even result; activation, clip, zero point; the tanh table's address
    reg signed [EW-1:0] y4, t, r3, rn3;
    reg signed [EW-1:0] i4;
    always @* begin
        r3 = tie3 ? {y3[EW-1:1], 1'b0} : y3;
        rn3 = tien3 ? {yn3[EW-1:1], 1'b0} : yn3;
        t = ACT == 3 && neg3 ? rn3 : r3;
        if (ACT == 1 && t < 0) t = 0;
        if (ACT == 2) t = clamp(t, lo3, hi3);
        i4 = clamp(r3, LUT_LO, LUT_HI) - LUT_LO;
    end
    always @(posedge clk) if (en) begin
        y4 <= t + z3;
        lut_addr <= i4[LUT_AW-1:0];
    end

    // 5: saturate, or the code the table gives back
    reg signed [EW-1:0] c5;
    always @* c5 = clamp(y4, OUT_LO, OUT_HI);
    always @(posedge clk) if (en) code <= ACT == 4 ? lut_data : c5[OW-1:0];
endmodule
`default_nettype wire

// N epilogue lanes side by side, each with its own parameters; a tanh layer's codes come back
// from its LUT (lut_addr -> lut_data, outside), the others' from srhw_requant.
`default_nettype none
module srhw_requant_lanes #(
    parameter integer N = 1,
    parameter integer ACC_W = 24,
    parameter integer EW = 32,
    parameter integer OW = 8,
    parameter integer SH_W = 8,
    parameter integer SLOPE_W = 2,
    parameter integer SLOPE_FRAC = 0,
    parameter integer ACT = 0,
    parameter integer OUT_LO = 0,
    parameter integer OUT_HI = 255,
    parameter integer LUT_LO = 0,
    parameter integer LUT_HI = 0,
    parameter integer LUT_AW = 1,
    parameter integer HAS_MULT = 0,
    parameter integer MULT_W = 1,
    parameter integer HALF_EVEN = 0
) (
    input  wire                 clk,
    input  wire                 en,
    input  wire [N*ACC_W-1:0]   acc,
    input  wire [N*MULT_W-1:0]  mult,
    input  wire [N*SH_W-1:0]    shift,
    input  wire [N*SLOPE_W-1:0] slope,
    input  wire [N*EW-1:0]      lo,
    input  wire [N*EW-1:0]      hi,
    input  wire [N*EW-1:0]      zero,
    output wire [N*LUT_AW-1:0]  lut_addr,
    input  wire [N*OW-1:0]      lut_data,
    output wire [N*OW-1:0]      codes
);
    genvar p;
    generate
        for (p = 0; p < N; p = p + 1) begin : g_lane
            srhw_requant #(.ACC_W(ACC_W), .EW(EW), .OW(OW), .SH_W(SH_W), .SLOPE_W(SLOPE_W),
                           .SLOPE_FRAC(SLOPE_FRAC), .ACT(ACT), .OUT_LO(OUT_LO), .OUT_HI(OUT_HI),
                           .LUT_LO(LUT_LO), .LUT_HI(LUT_HI), .LUT_AW(LUT_AW), .HAS_MULT(HAS_MULT),
                           .MULT_W(MULT_W), .HALF_EVEN(HALF_EVEN)) u_epi (
                .clk(clk), .en(en), .acc(acc[p*ACC_W +: ACC_W]), .mult(mult[p*MULT_W +: MULT_W]),
                .shift(shift[p*SH_W +: SH_W]),
                .slope(slope[p*SLOPE_W +: SLOPE_W]), .lo(lo[p*EW +: EW]), .hi(hi[p*EW +: EW]),
                .zero(zero[p*EW +: EW]), .code(codes[p*OW +: OW]), .lut_addr(lut_addr[p*LUT_AW +: LUT_AW]),
                .lut_data(lut_data[p*OW +: OW]));
        end
    endgenerate
endmodule
`default_nettype wire
