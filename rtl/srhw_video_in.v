// AXI4-Stream video input (8 bits per channel, channel c in TDATA[8c+7:8c]): the twin of
// video_in in hls/srhw_video.h. It hands the pipeline exactly h lines of w pixels per frame,
// whatever arrives, so a malformed frame can never put a stage out of step or a line buffer
// out of bounds; the next TUSER resynchronises it.
//   - Between frames, beats before a TUSER (start of frame) are dropped.
//   - A line that ends (TLAST) early is completed with zero pixels (short line).
//   - A line without TLAST at its w-th pixel: the beats up to the next TLAST are dropped (long
//     line).
//   - A TUSER inside a frame: the frame is completed with zero pixels, and that beat starts the
//     next frame (frame cut short; a frame with too few lines ends this way).
//   - Lines after the h-th are beats between frames (dropped).
// `flags` are sticky until reset: bit 0 short line, 1 long line, 2 frame cut short, 3 beats
// dropped between frames; `dropped` counts discarded beats and `filled` inserted pixels
// (saturating). The s_axi_control block maps them (docs/rtl.md).
`default_nettype none
module srhw_video_in #(
    parameter integer C = 1
) (
    input  wire           clk,
    input  wire           rst_n,
    input  wire           run,          // the kernel is started (ap_start)
    input  wire [15:0]    h,            // lines per frame (>= 1)
    input  wire [15:0]    w,            // pixels per line (>= 1, at most the line buffers' width)
    input  wire [8*C-1:0] s_tdata,
    input  wire           s_tvalid,
    output wire           s_tready,
    input  wire           s_tuser,
    input  wire           s_tlast,
    output wire [8*C-1:0] m_data,
    output wire           m_valid,
    input  wire           m_ready,
    output wire           taken,        // the frame's last pixel was accepted (ap_ready)
    output reg  [3:0]     flags,
    output reg  [31:0]    dropped,
    output reg  [31:0]    filled
);
    localparam [2:0] IDLE = 0, ACTIVE = 1, FILL_LINE = 2, DROP_LINE = 3, FILL_FRAME = 4;
    reg [2:0] state;
    reg [15:0] x, y;
    // where (x, y) is, registered with it: the state logic reads flags, not 16-bit comparisons
    reg [15:0] w_last, h_last;
    reg last_x, last_y, origin;
    always @(posedge clk) begin
        w_last <= w - 1'b1;
        h_last <= h - 1'b1;
    end
    task set_xy;
        input [15:0] nx, ny;
        begin
            x <= nx;
            y <= ny;
            last_x <= nx == w_last;
            last_y <= ny == h_last;
            origin <= nx == 0 && ny == 0;
        end
    endtask
    wire beat = s_tvalid && s_tready;

    // what goes to the pipeline
    wire start = state == IDLE && run && s_tvalid && s_tuser;            // a frame's first pixel
    wire early = state == ACTIVE && s_tvalid && s_tuser && !origin;
    wire pass = start || (state == ACTIVE && s_tvalid && !early);
    wire fill = state == FILL_LINE || state == FILL_FRAME;
    assign m_valid = pass || fill;
    assign m_data = fill ? {8*C{1'b0}} : s_tdata;
    wire emit = m_valid && m_ready;                                        // a pixel moves on
    // the input is taken when its pixel moves on, or when it is dropped
    wire drop_idle = state == IDLE && run && !s_tuser;
    wire drop_line = state == DROP_LINE && !s_tuser;
    assign s_tready = (pass && m_ready) || drop_idle || drop_line;
    assign taken = emit && last_x && last_y;

    function [31:0] inc;  // saturating
        input [31:0] v;
        inc = &v ? v : v + 1'b1;
    endfunction

    always @(posedge clk) begin
        if (!rst_n) begin
            state <= IDLE;
            set_xy(0, 0);
            flags <= 0;
            dropped <= 0;
            filled <= 0;
        end else begin
            if (beat && (drop_idle || drop_line)) begin
                dropped <= inc(dropped);
                if (drop_idle) flags[3] <= 1'b1;
            end
            if (emit && fill) filled <= inc(filled);
            if (early) flags[2] <= 1'b1;
            case (state)
                IDLE: if (!emit) begin
                    set_xy(0, 0);  // keeps the flags current while the size registers change
                end else begin
                    set_xy(1, 0);
                    state <= ACTIVE;
                    if (last_x) begin  // a one-pixel line
                        set_xy(0, last_y ? 16'd0 : 16'd1);
                        if (last_y) state <= IDLE;
                        if (!s_tlast) begin
                            flags[1] <= 1'b1;
                            state <= DROP_LINE;
                        end
                    end else if (s_tlast) begin
                        flags[0] <= 1'b1;
                        state <= FILL_LINE;
                    end
                end
                ACTIVE: begin
                    if (early) begin
                        state <= FILL_FRAME;
                    end else if (emit) begin
                        if (last_x) begin
                            set_xy(0, last_y ? 16'd0 : y + 1'b1);
                            if (!s_tlast) begin
                                flags[1] <= 1'b1;
                                state <= DROP_LINE;
                            end else if (last_y) begin
                                state <= IDLE;
                            end
                        end else begin
                            set_xy(x + 1'b1, y);
                            if (s_tlast) begin
                                flags[0] <= 1'b1;
                                state <= FILL_LINE;
                            end
                        end
                    end
                end
                FILL_LINE: if (emit) begin
                    if (last_x) begin
                        set_xy(0, last_y ? 16'd0 : y + 1'b1);
                        state <= last_y ? IDLE : ACTIVE;
                    end else begin
                        set_xy(x + 1'b1, y);
                    end
                end
                DROP_LINE: begin
                    // a long line ends at its TLAST; a TUSER instead ends the frame early
                    if (s_tvalid && s_tuser) begin
                        if (origin) begin
                            state <= IDLE;         // the frame was complete: the TUSER starts the next
                        end else begin
                            flags[2] <= 1'b1;
                            state <= FILL_FRAME;
                        end
                    end else if (beat && s_tlast) begin
                        state <= origin ? IDLE : ACTIVE;
                    end
                end
                default: if (emit) begin  // FILL_FRAME
                    if (last_x) begin
                        set_xy(0, last_y ? 16'd0 : y + 1'b1);
                        if (last_y) state <= IDLE;
                    end else begin
                        set_xy(x + 1'b1, y);
                    end
                end
            endcase
        end
    end
endmodule
`default_nettype wire
