// A deep FIFO (a skip connection's, an output stage's) in block RAM: the same ports and
// handshake as srhw_fifo, but the memory is read on the clock (one write port, one registered
// read port: what Yosys and Vivado map to RAMB18/RAMB36), so a word is fetched a cycle before
// it joins a two-word output buffer that the reader sees. Ready and valid stay registered state;
// a burst still moves one word per cycle; a word written at t can leave at t + 3 (srhw_fifo:
// t + 1). Capacity DEPTH words in all (memory, the fetch in flight, the output buffer).
`default_nettype none
module srhw_fifo_bram #(
    parameter integer W = 8,
    parameter integer DEPTH = 128  // entries
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
    localparam integer AW = $clog2(DEPTH);

    reg [W-1:0] mem [0:DEPTH-1];
    reg [AW-1:0] wr, rd;
    reg [AW:0] in_mem;   // words in the memory, not yet fetched
    reg [AW:0] count;    // all words held
    reg [W-1:0] ram_q;   // the fetched word, one cycle after its fetch
    reg fetched;         // ram_q holds a word that joins the output buffer this cycle
    reg [W-1:0] o0, o1;  // the output buffer, o0 first
    reg [1:0] n_out;

    wire push = s_valid && s_ready;
    wire pop = m_valid && m_ready;
    assign s_ready = count != DEPTH;
    assign m_valid = n_out != 0;
    assign m_data = o0;
    // fetch when the word finds a place on arrival: at most one word in the buffer after this cycle
    wire [2:0] after = {1'b0, n_out} + fetched - pop;
    wire fetch = in_mem != 0 && after < 2;

    always @(posedge clk) begin
        if (push) mem[wr] <= s_data;
        if (fetch) ram_q <= mem[rd];
    end

    always @(posedge clk) begin
        if (!rst_n) begin
            wr <= 0;
            rd <= 0;
            in_mem <= 0;
            count <= 0;
            fetched <= 0;
            n_out <= 0;
        end else begin
            if (push) wr <= wr == DEPTH - 1 ? 0 : wr + 1'b1;
            if (fetch) rd <= rd == DEPTH - 1 ? 0 : rd + 1'b1;
            in_mem <= in_mem + push - fetch;
            count <= count + push - pop;
            fetched <= fetch;
            n_out <= after[1:0];
            if (pop) begin
                if (n_out == 2) o0 <= o1;
                if (fetched && n_out == 2) o1 <= ram_q;
                else if (fetched) o0 <= ram_q;
            end else if (fetched) begin
                if (n_out == 0) o0 <= ram_q;
                else o1 <= ram_q;
            end
        end
    end
endmodule
`default_nettype wire
