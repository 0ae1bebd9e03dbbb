// A model quantized already (srhw.quant.from_grids): every channel's code mapped through the
// channel's table, one pixel per step: the RTL twin of table_stage in hls/srhw_pointwise.h. The
// tables are a generated module (srhw_table_<layer> in srhw_roms.v, a ROM per channel) read
// combinationally from the registered input codes; the codes a table does not list (outside a
// narrowed grid) never arrive, since the producer saturates to the grid.
//
// Pipeline (every register advances on `en`, i.e. while the output register is free): the input
// codes (1), the output register (2).
`default_nettype none
module srhw_table #(
    parameter integer C = 1,
    parameter integer IW = 8,           // input code width
    parameter integer OW = 8            // output code width
) (
    input  wire                 clk,
    input  wire                 rst_n,
    input  wire [C*IW-1:0]      s_data,
    input  wire                 s_valid,
    output wire                 s_ready,
    output reg  [C*OW-1:0]      m_data,
    output reg                  m_valid,
    input  wire                 m_ready,
    output reg  [C*IW-1:0]      rom_addr,  // the codes, to the tables
    input  wire [C*OW-1:0]      rom_data   // what the tables give for them
);
    wire en = !m_valid || m_ready;
    assign s_ready = en;
    reg v1;
    always @(posedge clk) begin
        if (!rst_n) begin
            v1 <= 0;
            m_valid <= 0;
        end else if (en) begin
            v1 <= s_valid;
            if (s_valid) rom_addr <= s_data;
            m_valid <= v1;
            if (v1) m_data <= rom_data;
        end
    end
endmodule
`default_nettype wire
