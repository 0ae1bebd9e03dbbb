// The MAC array of an output-group conv: PO dot products of one window with PO weight rows,
// plus bias, pipelined: every product is registered (a DSP48E2 with its output register, or
// LUTs for a constant weight or a product of at most 4 x 4 bits), and each lane's N + 1 terms go through a pipelined adder tree
// (srhw_tree). The sums leave 1 + LAT_T cycles after their operands (while `en` is high).
// Tap k = (c * KH + u) * KW + v of the window multiplies tap k of each lane's weight row
// (ONNX's [C_OUT][C_IN][KH][KW] order, one row per output). ACC_W comes from the overflow
// certificate: no partial sum can wrap.
`default_nettype none
module srhw_mac #(
    parameter integer N = 9,          // taps: C_IN * KH * KW
    parameter integer PO = 1,         // lanes (outputs computed in parallel)
    parameter integer IW = 8,         // input code width
    parameter integer I_SIGNED = 0,   // input codes are two's complement
    parameter integer WB = 8,         // weight width (signed)
    parameter integer MUL_W = WB + IW, // product width (srhw.fixed.multiplier_width)
    parameter integer ACC_W = 24,     // accumulator width (signed)
    parameter integer LPR = 2,        // adder levels per register stage
    parameter integer LAT_T = 3       // the trees' latency
) (
    input  wire                   clk,
    input  wire                   en,
    input  wire [N*IW-1:0]        window,
    input  wire [PO*N*WB-1:0]     weights,
    input  wire [PO*ACC_W-1:0]    bias,
    output wire [PO*ACC_W-1:0]    sums
);
    genvar p, k;
    generate
        for (p = 0; p < PO; p = p + 1) begin : g_lane
            wire [(N+1)*ACC_W-1:0] terms;  // the registered products, then the bias
            for (k = 0; k < N; k = k + 1) begin : g_tap
                wire signed [IW:0] x = {I_SIGNED != 0 && window[k*IW + IW - 1], window[k*IW +: IW]};
                wire signed [WB-1:0] wt = weights[(p*N + k)*WB +: WB];
                // sized to the product itself, so that synthesis maps a 4 x 4 one to LUTs
                wire signed [MUL_W-1:0] m = wt * x;
                reg signed [ACC_W-1:0] prod;
                always @(posedge clk) if (en) prod <= m;
                assign terms[k*ACC_W +: ACC_W] = prod;
            end
            reg [ACC_W-1:0] b;
            always @(posedge clk) if (en) b <= bias[p*ACC_W +: ACC_W];
            assign terms[N*ACC_W +: ACC_W] = b;
            srhw_tree #(.N(N + 1), .W(ACC_W), .LPR(LPR), .LAT(LAT_T)) u_tree (
                .clk(clk), .en(en), .x(terms), .sum(sums[p*ACC_W +: ACC_W]));
        end
    endgenerate
endmodule
`default_nettype wire
