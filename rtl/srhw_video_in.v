// AXI4-Stream video input (8 bits per channel, channel c in TDATA[8c+7:8c]). The twin of
// video_in in hls/srhw_video.h: while started, beats before a TUSER (start of frame) are
// dropped; the TUSER beat is pixel 0 and h * w pixels follow in raster order. TLAST, TKEEP,
// TSTRB are not needed to frame the input and are ignored, as Xilinx video IP does.
`default_nettype none
module srhw_video_in #(
    parameter integer C = 1
) (
    input  wire           clk,
    input  wire           rst_n,
    input  wire           run,          // the kernel is started (ap_start)
    input  wire [15:0]    h,
    input  wire [15:0]    w,
    input  wire [8*C-1:0] s_tdata,
    input  wire           s_tvalid,
    output wire           s_tready,
    input  wire           s_tuser,
    output wire [8*C-1:0] m_data,
    output wire           m_valid,
    input  wire           m_ready,
    output wire           taken         // the frame's last pixel was accepted (ap_ready)
);
    reg active;
    reg [31:0] left;  // pixels still to take in the active frame
    wire open = active || (run && s_tuser);
    assign m_data = s_tdata;
    assign m_valid = s_tvalid && open;
    assign s_tready = active ? m_ready : (run && (s_tuser ? m_ready : 1'b1));
    wire pass = m_valid && m_ready;
    wire [31:0] n = h * w;
    wire [31:0] left_now = active ? left : n;
    assign taken = pass && left_now == 1;

    always @(posedge clk) begin
        if (!rst_n) begin
            active <= 0;
            left <= 0;
        end else if (pass) begin
            left <= left_now - 1'b1;
            active <= left_now != 1;
        end
    end
endmodule
`default_nettype wire
