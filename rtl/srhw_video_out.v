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

    reg [15:0] y, x;
    reg [RW-1:0] i, j0;
    wire [31:0] out_h = h * R - CROP_B;
    wire [31:0] out_w = w * R - CROP_R;
    wire [31:0] oy = y * R + i;
    wire [31:0] ox = x * R + j0;
    wire need = i == 0 && j0 == 0;
    wire emit = oy < out_h && ox < out_w;
    wire en = !m_tvalid || m_tready;
    wire adv = en && (!need || s_valid);
    assign s_ready = en && need;

    reg [VW-1:0] row [0:MAX_W-1];
    wire [VW-1:0] px = need ? s_data : row[x];
    always @(posedge clk) if (adv && need) row[x] <= s_data;

    reg [8*C*PPC-1:0] beat;
    integer j, c, k;
    always @* begin
        for (j = 0; j < PPC; j = j + 1)
            for (c = 0; c < C; c = c + 1) begin
                k = CRD != 0 ? c*R*R + i*R + j0 + j : (i*R + j0 + j)*C + c;
                beat[8*(j*C + c) +: 8] = px[8*k +: 8];
            end
    end

    wire last_j = j0 + PPC >= R;
    wire last_x = x == w - 1'b1;
    wire last_i = i == R - 1;
    wire last_y = y == h - 1'b1;
    reg final_beat;  // the beat in the output register ends the frame
    assign done = m_tvalid && m_tready && final_beat;

    always @(posedge clk) begin
        if (!rst_n) begin
            y <= 0;
            x <= 0;
            i <= 0;
            j0 <= 0;
            m_tvalid <= 0;
        end else if (en) begin
            m_tvalid <= adv && emit;
            if (adv) begin
                m_tdata <= beat;
                m_tuser <= oy == 0 && ox == 0;
                m_tlast <= ox + PPC == out_w;
                final_beat <= oy == out_h - 1 && ox + PPC == out_w;
                if (!last_j) begin
                    j0 <= j0 + PPC;
                end else begin
                    j0 <= 0;
                    if (!last_x) begin
                        x <= x + 1'b1;
                    end else begin
                        x <= 0;
                        if (!last_i) begin
                            i <= i + 1'b1;
                        end else begin
                            i <= 0;
                            y <= last_y ? 16'd0 : y + 1'b1;
                        end
                    end
                end
            end
        end
    end
endmodule
`default_nettype wire
