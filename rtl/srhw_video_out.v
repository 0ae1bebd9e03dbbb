// AXI4-Stream video output: the twin of video_out in hls/srhw_video.h. It receives one vector
// of C * R * R codes per LR position (the input of a depth-to-space, R = 1 without one) and
// emits the HR frame in raster order, R rows per LR row, PPC pixels per beat, with TUSER on
// the frame's first beat and TLAST on each row's last. One LR row is buffered (written while
// the first HR row of it goes out), never a frame. CRD picks the channel order of
// docs/arithmetic.md; CROP_B / CROP_R drop the last HR rows / columns.
`default_nettype none
module srhw_video_out #(
    parameter integer C = 1,
    parameter integer R = 2,
    parameter integer CRD = 1,
    parameter integer PPC = 2,
    parameter integer CROP_B = 0,
    parameter integer CROP_R = 0,
    parameter integer MAX_W = 64
) (
    input  wire                 clk,
    input  wire                 rst_n,
    input  wire [15:0]          h,
    input  wire [15:0]          w,
    input  wire [8*C*R*R-1:0]   s_data,
    input  wire                 s_valid,
    output wire                 s_ready,
    output reg  [8*C*PPC-1:0]   m_tdata,
    output reg                  m_tvalid,
    input  wire                 m_tready,
    output reg                  m_tuser,
    output reg                  m_tlast,
    output wire                 done          // the frame's last beat was accepted (ap_done)
);
    localparam integer VW = 8 * C * R * R;
    localparam integer RW = R <= 2 ? 1 : $clog2(R);
    // The crop keeps LR columns up to XC = w - 1 - CROP_R / R, and in column XC the HR columns
    // up to LJ (PPC is 1 when the crop cuts into a column); the same for rows (YC, LI).
    localparam integer LJ = R - 1 - CROP_R % R;
    localparam integer LI = R - 1 - CROP_B % R;
    localparam integer J_END = LJ + 1 - PPC;            // j0 of a row's last beat

    reg [15:0] y, x;
    reg [RW-1:0] i, j0;
    // where (x, y) is, registered with it: the control reads flags, not 16-bit comparisons
    reg [15:0] w_last, h_last, xc, yc;
    reg last_x, last_y, x0, y0, at_xc, past_xc, at_yc, past_yc;
    always @(posedge clk) begin
        w_last <= w - 1'b1;
        h_last <= h - 1'b1;
        xc <= w - 1'b1 - CROP_R / R;
        yc <= h - 1'b1 - CROP_B / R;
    end
    wire need = i == 0 && j0 == 0;
    wire cut_i, cut_j;  // in the crop's boundary row / column, past its last kept HR row / column
    generate
        if (LI < R - 1) begin : g_cut_i
            assign cut_i = at_yc && i > LI;
        end else begin : g_keep_i
            assign cut_i = 1'b0;
        end
        if (LJ < R - 1) begin : g_cut_j
            assign cut_j = at_xc && j0 > LJ;
        end else begin : g_keep_j
            assign cut_j = 1'b0;
        end
    endgenerate
    wire emit = !past_yc && !cut_i && !past_xc && !cut_j;
    wire en = !m_tvalid || m_tready;
    wire adv = en && (!need || s_valid);
    assign s_ready = en && need;

    reg [VW-1:0] row [0:MAX_W-1];
    wire [VW-1:0] px = need ? s_data : row[x];
    always @(posedge clk) if (adv && need) row[x] <= s_data;

    // the beat: for each of the R rows and R/PPC beats, the channels' codes at constant places
    reg [8*C*PPC-1:0] beat;
    integer ii, jj, j, c, k;
    always @* begin
        beat = 0;
        k = 0;
        for (ii = 0; ii < R; ii = ii + 1)
            for (jj = 0; jj < R; jj = jj + PPC)
                if (i == ii && j0 == jj)
                    for (j = 0; j < PPC; j = j + 1)
                        for (c = 0; c < C; c = c + 1) begin
                            k = CRD != 0 ? c*R*R + ii*R + jj + j : (ii*R + jj + j)*C + c;
                            beat[8*(j*C + c) +: 8] = px[8*k +: 8];
                        end
    end

    wire last_j = j0 + PPC >= R;
    wire last_i = i == R - 1;
    reg final_beat;  // the beat in the output register ends the frame
    assign done = m_tvalid && m_tready && final_beat;

    task set_x;
        input [15:0] nx;
        begin
            x <= nx;
            last_x <= nx == w_last;
            x0 <= nx == 0;
            at_xc <= nx == xc;
            past_xc <= nx > xc;
        end
    endtask
    task set_y;
        input [15:0] ny;
        begin
            y <= ny;
            last_y <= ny == h_last;
            y0 <= ny == 0;
            at_yc <= ny == yc;
            past_yc <= ny > yc;
        end
    endtask

    always @(posedge clk) begin
        if (!rst_n) begin
            set_y(0);
            set_x(0);
            i <= 0;
            j0 <= 0;
            m_tvalid <= 0;
        end else if (en) begin
            m_tvalid <= adv && emit;
            if (!adv && need && x0 && y0) begin  // between frames: the flags follow the size registers
                set_x(0);
                set_y(0);
            end
            if (adv) begin
                m_tdata <= beat;
                m_tuser <= y0 && i == 0 && x0 && j0 == 0;
                m_tlast <= at_xc && j0 == J_END;
                final_beat <= at_yc && i == LI && at_xc && j0 == J_END;
                if (!last_j) begin
                    j0 <= j0 + PPC;
                end else begin
                    j0 <= 0;
                    if (!last_x) begin
                        set_x(x + 1'b1);
                    end else begin
                        set_x(0);
                        if (!last_i) begin
                            i <= i + 1'b1;
                        end else begin
                            i <= 0;
                            set_y(last_y ? 16'd0 : y + 1'b1);
                        end
                    end
                end
            end
        end
    end
endmodule
`default_nettype wire
