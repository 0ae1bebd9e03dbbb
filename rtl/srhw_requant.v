// The requantization epilogue of docs/arithmetic.md (section 3): accumulator -> output code,
// with the layer's activation. Combinational; one instance per output lane. The same steps,
// in the same order, as hls/srhw_epilogue.h:
//   none/relu/clip:  y = round_shift(acc, shift); relu: max(y, 0); clip: clamp(y, lo, hi)
//   prelu:           acc < 0 ? round_shift(acc * slope, shift + SLOPE_FRAC) : round_shift(acc, shift)
//   tanh:            lut_addr = clamp(round_shift(acc, shift), LUT_LO, LUT_HI) - LUT_LO
// then the zero point is added (y + zero) and the sum saturated to [OUT_LO, OUT_HI]. round_shift(a, s) = floor((a + 2^(s-1)) / 2^s) for
// s > 0 (round half up) and a * 2^-s otherwise. EW, the working width, comes from the
// overflow certificate, so no intermediate can wrap.
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
    parameter integer LUT_AW = 1
) (
    input  wire signed [ACC_W-1:0]   acc,
    input  wire signed [SH_W-1:0]    shift,
    input  wire signed [SLOPE_W-1:0] slope,
    input  wire signed [EW-1:0]      lo,
    input  wire signed [EW-1:0]      hi,
    input  wire signed [EW-1:0]      zero,
    output reg         [OW-1:0]      code,
    output reg         [LUT_AW-1:0]  lut_addr
);
    function signed [EW-1:0] round_shift;
        input signed [EW-1:0] a;
        input signed [SH_W:0] s;
        reg signed [EW-1:0] half;
        reg [SH_W:0] n;
        begin
            if (s > 0) begin
                n = s;
                half = 1;
                half = half <<< (n - 1);
                round_shift = (a + half) >>> n;
            end else begin
                n = -s;
                round_shift = a <<< n;
            end
        end
    endfunction

    function signed [EW-1:0] clamp;
        input signed [EW-1:0] v;
        input signed [EW-1:0] l;
        input signed [EW-1:0] h;
        clamp = v < l ? l : (v > h ? h : v);
    endfunction

    reg signed [EW-1:0] a, y, p, i;
    always @* begin
        a = acc;  // sign extension
        y = round_shift(a, shift);
        p = a * slope;
        if (ACT == 3 && a < 0) y = round_shift(p, shift + SLOPE_FRAC);
        if (ACT == 1 && y < 0) y = 0;
        if (ACT == 2) y = clamp(y, lo, hi);
        y = clamp(y + zero, OUT_LO, OUT_HI);
        code = y[OW-1:0];
        i = clamp(round_shift(a, shift), LUT_LO, LUT_HI) - LUT_LO;
        lut_addr = i[LUT_AW-1:0];
    end
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
    parameter integer LUT_AW = 1
) (
    input  wire [N*ACC_W-1:0]   acc,
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
            wire [OW-1:0] code;
            srhw_requant #(.ACC_W(ACC_W), .EW(EW), .OW(OW), .SH_W(SH_W), .SLOPE_W(SLOPE_W),
                           .SLOPE_FRAC(SLOPE_FRAC), .ACT(ACT), .OUT_LO(OUT_LO), .OUT_HI(OUT_HI),
                           .LUT_LO(LUT_LO), .LUT_HI(LUT_HI), .LUT_AW(LUT_AW)) u_epi (
                .acc(acc[p*ACC_W +: ACC_W]), .shift(shift[p*SH_W +: SH_W]), .slope(slope[p*SLOPE_W +: SLOPE_W]),
                .lo(lo[p*EW +: EW]), .hi(hi[p*EW +: EW]), .zero(zero[p*EW +: EW]), .code(code),
                .lut_addr(lut_addr[p*LUT_AW +: LUT_AW]));
            assign codes[p*OW +: OW] = ACT == 4 ? lut_data[p*OW +: OW] : code;
        end
    endgenerate
endmodule
`default_nettype wire
