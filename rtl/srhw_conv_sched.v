// Scheduled convolution: the RTL twin of conv_sched_stage in hls/srhw_conv.h, for a
// multiplier budget that need not divide the work of one position.
//
// The padded frame is walked in periods of P consecutive positions; a period takes T cycles
// (a slot). Output o owns a few multipliers (lanes) that work through its non-zero products
// (c, u, v) for the P positions in order: the schedule, generated per layer
// (srhw_roms.v, module srhw_sched_<layer>), maps the cycle k of the slot and the window to
// `delta`, each (position q, output o)'s sum of the lane products due at cycle k. Each lane
// selects among at most T operands and weights, so products with a zero weight cost nothing.
//
// Software pipeline, one slot of T cycles per period, as in the HLS stage: slot s reads the P
// columns of period s (cycles 0..P-1, into a staging buffer), computes period s-1 on a window
// of KW + P - 1 columns, and writes period s-2's P outputs (cycles 0..P-1, epilogue on write).
// A cycle advances when its read has a pixel (inside the image) and its write has room.
`default_nettype none
module srhw_conv_sched #(
    parameter integer C_IN = 1,
    parameter integer C_OUT = 1,
    parameter integer KH = 3,
    parameter integer KW = 3,
    parameter integer PAD_T = 1,
    parameter integer PAD_L = 1,
    parameter integer PAD_B = 1,
    parameter integer PAD_R = 1,
    parameter integer MAX_W = 64,
    parameter integer IW = 8,
    parameter integer OW = 8,
    parameter integer ACC_W = 24,
    parameter integer EW = 32,
    parameter integer SH_W = 8,
    parameter integer SLOPE_W = 2,
    parameter integer SLOPE_FRAC = 0,
    parameter integer ACT = 0,
    parameter integer OUT_LO = 0,
    parameter integer OUT_HI = 255,
    parameter integer LUT_LO = 0,
    parameter integer LUT_HI = 0,
    parameter integer LUT_AW = 1,
    parameter integer P = 1,            // positions per period
    parameter integer T = 1,            // cycles per period
    parameter integer KB = 1,           // width of the cycle index
    parameter [C_IN*IW-1:0] PAD = 0,    // padding code per input channel (the code of real 0)
    parameter [C_OUT*EW-1:0] ZERO = 0   // zero point per output channel, added before saturation
) (
    input  wire                       clk,
    input  wire                       rst_n,
    input  wire [15:0]                h,
    input  wire [15:0]                w,
    input  wire [C_IN*IW-1:0]         s_data,
    input  wire                       s_valid,
    output wire                       s_ready,
    output reg  [C_OUT*OW-1:0]        m_data,
    output reg                        m_valid,
    input  wire                       m_ready,
    output wire [KB-1:0]              sched_k,
    output wire [C_IN*KH*(KW+P-1)*IW-1:0] sched_window,
    input  wire [P*C_OUT*ACC_W-1:0]   sched_delta,
    input  wire [C_OUT*ACC_W-1:0]     tab_bias,
    input  wire [C_OUT*SH_W-1:0]      tab_shift,
    input  wire [C_OUT*SLOPE_W-1:0]   tab_slope,
    input  wire [C_OUT*EW-1:0]        tab_lo,
    input  wire [C_OUT*EW-1:0]        tab_hi,
    output wire [C_OUT*LUT_AW-1:0]    lut_addr,
    input  wire [C_OUT*OW-1:0]        lut_data
);
    localparam integer WC = KW + P - 1;          // window columns
    localparam integer PW = C_IN * IW;
    localparam integer MAX_WP = MAX_W + PAD_L + PAD_R;

    wire [15:0] hp = h + PAD_T + PAD_B;
    wire [15:0] wp = w + PAD_L + PAD_R;
    wire [31:0] positions = hp * wp;

    reg [KB-1:0] k;
    reg reading, computing, writing;     // this slot reads / computes / writes a period
    reg [31:0] rbase;                    // first position of the period being read
    reg [31:0] rpos, wpos;
    reg [15:0] ry, rx, wy, wx;

    // ---- read: one column of the period per cycle k < P ----
    wire rd_slot = reading && k < P;
    wire rd_real = rd_slot && rpos < positions;
    wire in_image = ry >= PAD_T && ry < PAD_T + h && rx >= PAD_L && rx < PAD_L + w;
    wire need_in = rd_real && in_image;
    wire at_start = reading && rbase == 0 && k == 0;     // a frame begins with its first pixel
    // ---- write: one output position per cycle k < P ----
    wire wr_slot = writing && k < P && wpos < positions;
    wire emit = wr_slot && wy >= KH - 1 && wx >= KW - 1;
    wire room = !m_valid || m_ready;
    wire adv = (!(need_in || at_start) || s_valid) && (!emit || room);
    assign s_ready = need_in && (!emit || room);

    wire rx_last = rx == wp - 1'b1;
    wire [15:0] rx_next = rx_last ? 16'd0 : rx + 1'b1;
    wire [PW-1:0] pixel = need_in ? s_data : PAD;
    wire [KH*PW-1:0] column;
    srhw_linebuf #(.KH(KH), .PW(PW), .DEPTH(MAX_WP), .XW(16)) u_lines (
        .clk(clk), .step(adv && rd_real), .x(rx), .x_next(rx_next), .pixel(pixel), .column(column));

    // staging buffer (P columns) and window (tap (c, u, col) at ((c*KH + u)*WC + col)*IW)
    reg [P*KH*PW-1:0] stage;
    reg [C_IN*KH*WC*IW-1:0] win;
    assign sched_window = win;
    assign sched_k = k;

    // accumulators of the period being computed, and of the one being written
    reg [P*C_OUT*ACC_W-1:0] acc, done;
    reg [P*C_OUT*ACC_W-1:0] acc_next;
    integer q, o, c, u, v;
    always @* begin
        acc_next = acc;
        if (computing)
            for (q = 0; q < P; q = q + 1)
                for (o = 0; o < C_OUT; o = o + 1)
                    acc_next[(q*C_OUT + o)*ACC_W +: ACC_W] = acc[(q*C_OUT + o)*ACC_W +: ACC_W]
                                                             + sched_delta[(q*C_OUT + o)*ACC_W +: ACC_W];
    end

    // epilogue of position k of the written period, all outputs at once
    wire [C_OUT*OW-1:0] codes;
    srhw_requant_lanes #(.N(C_OUT), .ACC_W(ACC_W), .EW(EW), .OW(OW), .SH_W(SH_W), .SLOPE_W(SLOPE_W),
                         .SLOPE_FRAC(SLOPE_FRAC), .ACT(ACT), .OUT_LO(OUT_LO), .OUT_HI(OUT_HI), .LUT_LO(LUT_LO),
                         .LUT_HI(LUT_HI), .LUT_AW(LUT_AW)) u_epi (
        .acc(done[k*C_OUT*ACC_W +: C_OUT*ACC_W]), .shift(tab_shift), .slope(tab_slope), .lo(tab_lo), .hi(tab_hi), .zero(ZERO), .lut_addr(lut_addr),
        .lut_data(lut_data), .codes(codes));

    wire slot_end = k == T - 1;

    task frame_start;  // read the first period of a frame next
        begin
            reading <= 1;
            rbase <= 0;
            rpos <= 0;
            wpos <= 0;
            rx <= 0;
            ry <= 0;
            wx <= 0;
            wy <= 0;
        end
    endtask
    wire [31:0] rbase_next = rbase + P;

    always @(posedge clk) begin
        if (!rst_n) begin
            k <= 0;
            computing <= 0;
            writing <= 0;
            m_valid <= 0;
            frame_start;
        end else begin
            if (room) m_valid <= 0;
            if (adv) begin
                if (rd_slot) begin
                    stage[k*KH*PW +: KH*PW] <= rd_real ? column : {KH*PW{1'b0}};
                    rpos <= rpos + 1'b1;
                    rx <= rx_next;
                    if (rx_last) ry <= ry + 1'b1;
                end
                if (wr_slot) begin
                    if (emit) begin
                        m_data <= codes;
                        m_valid <= 1;
                    end
                    wpos <= wpos + 1'b1;
                    if (wx == wp - 1'b1) begin
                        wx <= 0;
                        wy <= wy + 1'b1;
                    end else begin
                        wx <= wx + 1'b1;
                    end
                end
                if (!slot_end) begin
                    k <= k + 1'b1;
                    acc <= acc_next;
                end else begin
                    k <= 0;
                    done <= acc_next;
                    acc <= {P{tab_bias}};
                    for (c = 0; c < C_IN; c = c + 1)
                        for (u = 0; u < KH; u = u + 1) begin
                            for (v = 0; v + 1 < KW; v = v + 1)
                                win[((c*KH + u)*WC + v)*IW +: IW] <= win[((c*KH + u)*WC + v + P)*IW +: IW];
                            for (q = 0; q < P; q = q + 1)
                                win[((c*KH + u)*WC + KW - 1 + q)*IW +: IW] <= q == k && rd_slot
                                    ? (rd_real ? column[u*PW + c*IW +: IW] : {IW{1'b0}})
                                    : stage[(q*KH + u)*PW + c*IW +: IW];
                        end
                    writing <= computing;
                    computing <= reading;
                    if (!reading && !computing) begin  // the frame's last write slot: next frame
                        frame_start;
                    end else begin
                        reading <= reading && rbase_next < positions;
                        rbase <= rbase_next;
                    end
                end
            end
        end
    end
endmodule
`default_nettype wire
