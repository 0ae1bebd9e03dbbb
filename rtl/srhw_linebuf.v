// Line buffer: KH - 1 rows of the padded frame, one memory word per column holding that
// column's rows (oldest first). On a column step at column x it returns the column of the
// KH x 1 neighbourhood ending at the new pixel (held rows, then `pixel`) and stores the
// column moved up by one row. The read is registered one step ahead (at `x_next`), so the
// memory maps to block RAM; x_next == x (a one-column frame) is bypassed.
`default_nettype none
module srhw_linebuf #(
    parameter integer KH = 3,         // window rows
    parameter integer PW = 8,         // pixel width (channels * code width)
    parameter integer DEPTH = 64,     // columns (largest padded width)
    parameter integer XW = 16         // column index width
) (
    input  wire               clk,
    input  wire               step,     // a column is consumed this cycle
    input  wire [XW-1:0]      x,        // its column
    input  wire [XW-1:0]      x_next,   // the column of the next step
    input  wire [PW-1:0]      pixel,    // the new pixel (bottom of the column)
    output wire [KH*PW-1:0]   column    // rows top to bottom, row u at [u*PW +: PW]
);
    generate
        if (KH == 1) begin : g_none
            assign column = pixel;
        end else begin : g_rows
            localparam integer LW = (KH - 1) * PW;
            reg [LW-1:0] mem [0:DEPTH-1];
            reg [LW-1:0] rd_q, moved_q;
            reg bypass_q;
            wire [LW-1:0] held = bypass_q ? moved_q : rd_q;
            wire [LW-1:0] moved;
            if (KH == 2) begin : g_one
                assign moved = pixel;
            end else begin : g_more
                assign moved = {pixel, held[LW-1:PW]};
            end
            assign column = {pixel, held};
            always @(posedge clk) begin
                if (step) begin
                    mem[x] <= moved;
                    rd_q <= mem[x_next];
                    moved_q <= moved;
                    bypass_q <= x_next == x;
                end
            end
        end
    endgenerate
endmodule
`default_nettype wire
