// The MAC array: PO dot products of one window with PO weight rows, plus bias.
// Tap k = (c * KH + u) * KW + v of the window multiplies tap k of each lane's weight row
// (ONNX's [C_OUT][C_IN][KH][KW] order, one row per output). Combinational; the caller
// registers the sums. ACC_W comes from the overflow certificate: no sum can wrap.
`default_nettype none
module srhw_mac #(
    parameter integer N = 9,          // taps: C_IN * KH * KW
    parameter integer PO = 1,         // lanes (outputs computed in parallel)
    parameter integer IW = 8,         // input code width
    parameter integer I_SIGNED = 0,   // input codes are two's complement
    parameter integer WB = 8,         // weight width (signed)
    parameter integer ACC_W = 24      // accumulator width (signed)
) (
    input  wire [N*IW-1:0]        window,
    input  wire [PO*N*WB-1:0]     weights,
    input  wire [PO*ACC_W-1:0]    bias,
    output reg  [PO*ACC_W-1:0]    sums
);
    integer p, k;
    reg signed [IW:0] x;
    reg signed [WB-1:0] w;
    reg signed [ACC_W-1:0] s;
    always @* begin
        for (p = 0; p < PO; p = p + 1) begin
            s = bias[p*ACC_W +: ACC_W];
            for (k = 0; k < N; k = k + 1) begin
                x = {I_SIGNED != 0 && window[k*IW + IW - 1], window[k*IW +: IW]};
                w = weights[(p*N + k)*WB +: WB];
                s = s + w * x;
            end
            sums[p*ACC_W +: ACC_W] = s;
        end
    end
endmodule
`default_nettype wire
