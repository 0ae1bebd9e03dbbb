// One stream to two (a value read by two layers: a skip connection), as fork_stage in
// hls/srhw_pointwise.h: every element goes to both outputs. An element is taken when both
// output registers are free or being read, and each output then holds it until its reader
// takes it, so the two readers may take it in different cycles. Latency 1.
`default_nettype none
module srhw_fork #(
    parameter integer W = 8
) (
    input  wire         clk,
    input  wire         rst_n,
    input  wire [W-1:0] s_data,
    input  wire         s_valid,
    output wire         s_ready,
    output wire [W-1:0] m0_data,
    output reg          m0_valid,
    input  wire         m0_ready,
    output wire [W-1:0] m1_data,
    output reg          m1_valid,
    input  wire         m1_ready
);
    reg [W-1:0] data;
    assign m0_data = data;
    assign m1_data = data;
    assign s_ready = (!m0_valid || m0_ready) && (!m1_valid || m1_ready);

    always @(posedge clk) begin
        if (!rst_n) begin
            m0_valid <= 0;
            m1_valid <= 0;
        end else if (s_ready) begin
            m0_valid <= s_valid;
            m1_valid <= s_valid;
            if (s_valid) data <= s_data;
        end else begin
            if (m0_ready) m0_valid <= 0;
            if (m1_ready) m1_valid <= 0;
        end
    end
endmodule
`default_nettype wire
