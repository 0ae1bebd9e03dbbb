// A small synchronous FIFO between stages: the elastic buffer that Vitis HLS puts on a
// dataflow stream. Ready and valid are registered state (count), so handshakes never chain
// combinationally across stages.
`default_nettype none
module srhw_fifo #(
    parameter integer W = 8,      // data width
    parameter integer DEPTH = 2   // entries, at least 2
) (
    input  wire         clk,
    input  wire         rst_n,
    input  wire [W-1:0] s_data,
    input  wire         s_valid,
    output wire         s_ready,
    output wire [W-1:0] m_data,
    output wire         m_valid,
    input  wire         m_ready
);
    localparam integer AW = DEPTH <= 2 ? 1 : $clog2(DEPTH);

    reg [W-1:0] mem [0:DEPTH-1];
    reg [AW-1:0] rd, wr;
    reg [AW:0] count;

    wire push = s_valid && s_ready;
    wire pop = m_valid && m_ready;

    assign s_ready = count != DEPTH;
    assign m_valid = count != 0;
    assign m_data = mem[rd];

    always @(posedge clk) begin
        if (!rst_n) begin
            rd <= 0;
            wr <= 0;
            count <= 0;
        end else begin
            if (push) begin
                mem[wr] <= s_data;
                wr <= wr == DEPTH - 1 ? 0 : wr + 1'b1;
            end
            if (pop) rd <= rd == DEPTH - 1 ? 0 : rd + 1'b1;
            count <= count + push - pop;
        end
    end
endmodule
`default_nettype wire
