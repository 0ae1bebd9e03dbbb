// The residual Add of two tensors (docs/arithmetic.md, section 3), one pixel per step: the RTL
// twin of add_stage in hls/srhw_pointwise.h, with the same arithmetic and the same outputs.
// Per channel c the two codes are aligned to the accumulator's frac by constant left shifts
// and added, acc = (a << ALIGN_A[c]) + (b << ALIGN_B[c]), then the layer's epilogue
// (srhw_requant, 5 stages) gives the output code.
//
// A step takes one pixel from each input, so both must be offered: each input's ready waits
// for the other's valid (the FIFOs in front make the two valids registered state). Pipeline
// (every register advances on `en`, i.e. while the output register is free): the aligned sums
// (1), the epilogue (5), the output register (1): latency 7 steps.
`default_nettype none
module srhw_add #(
    parameter integer C = 1,
    parameter integer AW = 8,           // input A's code width
    parameter integer A_SIGNED = 0,
    parameter integer BW = 8,           // input B's code width
    parameter integer B_SIGNED = 0,
    parameter integer OW = 8,
    parameter integer ACC_W = 16,
    parameter integer EW = 24,
    parameter integer SH_W = 8,
    parameter integer SLOPE_W = 2,
    parameter integer SLOPE_FRAC = 0,
    parameter integer ACT = 0,
    parameter integer OUT_LO = 0,
    parameter integer OUT_HI = 255,
    parameter integer LUT_LO = 0,
    parameter integer LUT_HI = 0,
    parameter integer LUT_AW = 1,
    parameter [C*8-1:0] ALIGN_A = 0,    // left shift per channel, 8 bits each
    parameter [C*8-1:0] ALIGN_B = 0
) (
    input  wire                 clk,
    input  wire                 rst_n,
    input  wire [C*AW-1:0]      a_data,
    input  wire                 a_valid,
    output wire                 a_ready,
    input  wire [C*BW-1:0]      b_data,
    input  wire                 b_valid,
    output wire                 b_ready,
    output reg  [C*OW-1:0]      m_data,
    output reg                  m_valid,
    input  wire                 m_ready,
    input  wire [C*SH_W-1:0]    shift,
    input  wire [C*SLOPE_W-1:0] slope,
    input  wire [C*EW-1:0]      lo,
    input  wire [C*EW-1:0]      hi,
    input  wire [C*EW-1:0]      zero,
    output wire [C*LUT_AW-1:0]  lut_addr,
    input  wire [C*OW-1:0]      lut_data
);
    localparam integer L = 1 + 5;  // the sums, the epilogue
    wire en = !m_valid || m_ready;
    wire step = en && a_valid && b_valid;
    assign a_ready = step;
    assign b_ready = step;

    // 1: the aligned sums
    reg [C*ACC_W-1:0] acc;
    genvar c;
    generate
        for (c = 0; c < C; c = c + 1) begin : g_sum
            wire signed [ACC_W-1:0] a = A_SIGNED ? {{(ACC_W-AW){a_data[c*AW + AW-1]}}, a_data[c*AW +: AW]}
                                                 : {{(ACC_W-AW){1'b0}}, a_data[c*AW +: AW]};
            wire signed [ACC_W-1:0] b = B_SIGNED ? {{(ACC_W-BW){b_data[c*BW + BW-1]}}, b_data[c*BW +: BW]}
                                                 : {{(ACC_W-BW){1'b0}}, b_data[c*BW +: BW]};
            always @(posedge clk) if (en) acc[c*ACC_W +: ACC_W] <= (a <<< ALIGN_A[c*8 +: 8]) + (b <<< ALIGN_B[c*8 +: 8]);
        end
    endgenerate

    // 2-6: the epilogue per channel
    wire [C*OW-1:0] codes;
    srhw_requant_lanes #(.N(C), .ACC_W(ACC_W), .EW(EW), .OW(OW), .SH_W(SH_W), .SLOPE_W(SLOPE_W),
                         .SLOPE_FRAC(SLOPE_FRAC), .ACT(ACT), .OUT_LO(OUT_LO), .OUT_HI(OUT_HI), .LUT_LO(LUT_LO),
                         .LUT_HI(LUT_HI), .LUT_AW(LUT_AW)) u_epi (
        .clk(clk), .en(en), .acc(acc), .mult({C{1'b0}}), .shift(shift), .slope(slope), .lo(lo), .hi(hi), .zero(zero),
        .lut_addr(lut_addr), .lut_data(lut_data), .codes(codes));

    // 7: which steps carry a pixel, and the output register
    reg [L-1:0] v;
    always @(posedge clk) begin
        if (!rst_n) begin
            v <= 0;
            m_valid <= 0;
        end else if (en) begin
            v <= {v[L-2:0], step};
            m_valid <= v[L-1];
            if (v[L-1]) m_data <= codes;
        end
    end
endmodule
`default_nettype wire
