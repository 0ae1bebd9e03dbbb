// Scheduled convolution: the RTL twin of conv_sched_mac + conv_sched_out in hls/srhw_conv.h,
// for a multiplier budget that need not divide the work of one position.
//
// The walked frame (from row Y0 = min(PAD_T, KH - 1)) is taken in periods of P consecutive
// positions; a period takes a slot of T cycles. Output o owns lanes (multipliers) that work
// through its non-zero products: lane l does products l*T .. l*T + T - 1, one per cycle k of
// the slot. The schedule is generated per layer (srhw_roms.v, module srhw_sched_<layer>): from
// the cycle k and the window it gives, LS cycles later, `delta`, each (position q, output o)'s
// sum of that cycle's lane products (a registered T:1 operand mux and weight ROM per lane, a
// registered multiplier, a pipelined adder tree per (q, o)).
//
// MAC side, one step per cycle: slot s reads the P columns of period s (cycles 0..P-1, into a
// staging buffer) while the schedule computes period s - 1 on a window of KW + P - 1 columns;
// LS cycles later the deltas reach the accumulators, and at the slot's last cycle the period's
// P x C_OUT sums go into a FIFO (SUMS_DEPTH deep). A step waits for its pixel (inside the
// image) and for room in that FIFO; the pipeline behind a waiting read keeps going (bubbles).
//
// Output side: one position per cycle, P per period taken from the FIFO; the epilogue of all
// C_OUT outputs (srhw_requant, 5 stages) after a P:1 multiplexer per output; the code vector
// leaves 6 cycles after its step. It waits for the period's sums and for the output register.
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
    parameter integer HAS_MULT = 0,     // a model quantized already: acc * mult, rounding half to even
    parameter integer MULT_W = 1,
    parameter integer HALF_EVEN = 0,
    parameter integer P = 1,            // positions per period
    parameter integer T = 1,            // cycles per period
    parameter integer KB = 1,           // width of the cycle index
    parameter integer LS = 3,           // cycles from (k, window) to delta
    parameter integer SUMS_DEPTH = 1,   // periods of sums between the two sides
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
    output wire [C_OUT*OW-1:0]        m_data,
    output wire                       m_valid,
    input  wire                       m_ready,
    output wire                       sched_en,
    output wire [KB-1:0]              sched_k,
    output wire [C_IN*KH*(KW+P-1)*IW-1:0] sched_window,
    input  wire [P*C_OUT*ACC_W-1:0]   sched_delta,
    input  wire [C_OUT*ACC_W-1:0]     tab_bias,
    input  wire [C_OUT*MULT_W-1:0]     tab_mult,
    input  wire [C_OUT*SH_W-1:0]      tab_shift,
    input  wire [C_OUT*SLOPE_W-1:0]   tab_slope,
    input  wire [C_OUT*EW-1:0]        tab_lo,
    input  wire [C_OUT*EW-1:0]        tab_hi,
    output wire [C_OUT*LUT_AW-1:0]    lut_addr,
    input  wire [C_OUT*OW-1:0]        lut_data
);
    localparam integer WC = KW + P - 1;          // window columns
    localparam integer PW = C_IN * IW;
    localparam integer Y0 = PAD_T < KH - 1 ? PAD_T : KH - 1;
    localparam integer SUMS_W = P * C_OUT * ACC_W;
    localparam integer LE = 6;                   // output side: mux register + 5 epilogue stages

    // the frame's geometry, registered (h and w change only between frames): no multiplier or
    // adder of it lies on a path of the pipeline. The walk's positions per frame are a 16 x 16
    // product of registered factors with two registers after it (one DSP48 with its M and P
    // registers; 32-bit factors would split it over several DSPs summed in the fabric)
    reg [15:0] wp_last, y_end, x_end, walk_rows, walk_cols, y_end_m1, x_end_m1;
    reg [31:0] positions_m, positions, positions_m1;
    reg positions_nz;
    always @(posedge clk) begin
        wp_last <= w + PAD_L + PAD_R - 1;
        y_end <= PAD_T + h;                  // the first row below the image
        x_end <= PAD_L + w;
        walk_rows <= h + (PAD_T + PAD_B - Y0);
        walk_cols <= w + (PAD_L + PAD_R);
        positions_m <= walk_rows * walk_cols;
        positions <= positions_m;
        y_end_m1 <= PAD_T + h - 1;
        x_end_m1 <= PAD_L + w - 1;
        positions_m1 <= positions_m - 1;
        positions_nz <= positions_m != 0;
    end

    // ================================================================ MAC side
    reg [KB-1:0] k;
    reg reading, computing;              // this slot reads / computes a period
    reg [31:0] rbase;                    // first position of the period being read
    reg [31:0] rpos;
    reg [15:0] ry, rx;

    wire sums_room;
    reg [LS:1] v_d, end_d;               // the step's validity and slot end, LS cycles on
    wire push = v_d[LS] && end_d[LS];
    wire en = !push || sums_room;        // the MAC pipeline advances

    // The read side's position flags are registers, each computed a cycle ahead from the walk's
    // candidate next values (the same position, the next one, the frame's first): the comparisons
    // of ry, rx and rpos with the frame geometry stay off the path through `adv`, which enables
    // every register of the read side (7 LUT levels from ry to rbase when they were on it).
    reg y_ok, x_ok, pos_ok, rbase_zero;  // ry and rx inside the image; rpos a real position; rbase == 0
    wire rd_slot = reading && k < P;
    wire rd_real = rd_slot && pos_ok;
    wire in_image = y_ok && x_ok;
    wire need_in = rd_real && in_image;
    wire at_start = reading && rbase_zero && k == 0;     // a frame begins with its first pixel
    wire adv = en && (!(need_in || at_start) || s_valid);
    assign s_ready = en && need_in;

    wire rx_last = rx == wp_last;
    wire [15:0] rx_next = rx_last ? 16'd0 : rx + 1'b1;
    wire [PW-1:0] pixel = need_in ? s_data : PAD;
    wire [KH*PW-1:0] column;
    srhw_linebuf #(.KH(KH), .PW(PW), .DEPTH(MAX_W + PAD_L + PAD_R), .XW(16)) u_lines (
        .clk(clk), .step(adv && rd_real), .x(rx), .x_next(rx_next), .pixel(pixel), .column(column));

    // the column as the window takes it: rows above the image (skipped by the walk) are padding
    reg [KH*PW-1:0] col;
    integer cu;
    always @* begin
        for (cu = 0; cu < KH; cu = cu + 1)
            col[cu*PW +: PW] = ry + cu < PAD_T + KH - 1 ? PAD : column[cu*PW +: PW];
    end

    // staging buffer (P columns) and window (tap (c, u, col) at ((c*KH + u)*WC + col)*IW)
    reg [P*KH*PW-1:0] stage;
    reg [C_IN*KH*WC*IW-1:0] win;
    assign sched_window = win;
    assign sched_k = k;
    assign sched_en = en;

    wire slot_end = k == T - 1;
    wire [31:0] rbase_next = rbase + P;

    task frame_start;  // read the first period of a frame next
        begin
            computing <= 0;
            reading <= 1;
            rbase <= 0;
            rbase_zero <= 1;
            rpos <= 0;
            rx <= 0;
            ry <= Y0[15:0];
        end
    endtask

    // v + 1 < end is v < end - 1 (end - 1 a geometry register; end >= 1 where it is used)
    wire y_ok_same = ry >= PAD_T && ry < y_end;
    wire y_ok_inc = ry + 1 >= PAD_T && y_end != 0 && ry < y_end_m1;
    wire y_ok_first = Y0 >= PAD_T && Y0 < y_end;
    wire x_ok_same = rx >= PAD_L && rx < x_end;
    wire x_ok_next = rx_last ? PAD_L == 0 && x_end != 0 : rx + 1 >= PAD_L && x_end != 0 && rx < x_end_m1;
    wire x_ok_first = PAD_L == 0 && x_end != 0;
    wire pos_ok_same = rpos < positions;
    wire pos_ok_inc = positions_nz && rpos < positions_m1;
    wire pos_ok_first = positions_nz;
    wire restart = !rst_n || (adv && slot_end && !reading);  // frame_start below
    wire walk = adv && rd_slot;                               // the walk moves to its next position
    always @(posedge clk) begin
        y_ok <= restart ? y_ok_first : walk && rx_last ? y_ok_inc : y_ok_same;
        x_ok <= restart ? x_ok_first : walk ? x_ok_next : x_ok_same;
        pos_ok <= restart ? pos_ok_first : walk ? pos_ok_inc : pos_ok_same;
    end

    integer q, c, u, v;
    always @(posedge clk) begin
        if (!rst_n) begin
            k <= 0;
            frame_start;
        end else if (adv) begin
            if (rd_slot) begin
                for (q = 0; q < P; q = q + 1)
                    if (k == q) stage[q*KH*PW +: KH*PW] <= rd_real ? col : {KH*PW{1'b0}};
                rpos <= rpos + 1'b1;
                rx <= rx_next;
                if (rx_last) ry <= ry + 1'b1;
            end
            if (!slot_end) begin
                k <= k + 1'b1;
            end else begin
                k <= 0;
                for (c = 0; c < C_IN; c = c + 1)
                    for (u = 0; u < KH; u = u + 1) begin
                        for (v = 0; v + 1 < KW; v = v + 1)
                            win[((c*KH + u)*WC + v)*IW +: IW] <= win[((c*KH + u)*WC + v + P)*IW +: IW];
                        for (q = 0; q < P; q = q + 1)
                            win[((c*KH + u)*WC + KW - 1 + q)*IW +: IW] <= q == k && rd_slot
                                ? (rd_real ? col[u*PW + c*IW +: IW] : {IW{1'b0}})
                                : stage[(q*KH + u)*PW + c*IW +: IW];
                    end
                if (!reading) begin  // the frame's last slot (compute only): the next frame
                    frame_start;
                end else begin
                    computing <= 1;
                    reading <= rbase_next < positions;
                    rbase <= rbase_next;
                    rbase_zero <= 0;
                end
            end
        end
    end

    // the schedule's latency, for the step's flags
    always @(posedge clk) begin
        if (!rst_n) begin
            v_d <= 0;
            end_d <= 0;
        end else if (en) begin
            v_d <= {v_d, adv && computing};
            end_d <= {end_d, slot_end};
        end
    end

    // accumulators of the period being computed; its sums leave at the slot's end
    reg [SUMS_W-1:0] acc, acc_next;
    integer aq, ao;
    always @* begin
        for (aq = 0; aq < P; aq = aq + 1)
            for (ao = 0; ao < C_OUT; ao = ao + 1)
                acc_next[(aq*C_OUT + ao)*ACC_W +: ACC_W] = acc[(aq*C_OUT + ao)*ACC_W +: ACC_W]
                                                           + sched_delta[(aq*C_OUT + ao)*ACC_W +: ACC_W];
    end
    always @(posedge clk) begin
        if (!rst_n) begin
            acc <= {P{tab_bias}};
        end else if (en && v_d[LS]) begin
            acc <= end_d[LS] ? {P{tab_bias}} : acc_next;
        end
    end

    wire [SUMS_W-1:0] sums_data;
    wire sums_valid, sums_pop;
    srhw_fifo #(.W(SUMS_W), .DEPTH(SUMS_DEPTH)) u_sums (
        .clk(clk), .rst_n(rst_n), .s_data(acc_next), .s_valid(en && push), .s_ready(sums_room),
        .m_data(sums_data), .m_valid(sums_valid), .m_ready(sums_pop));

    // ================================================================ output side
    reg [KB-1:0] qw;                     // position in the period
    reg [31:0] wpos;
    reg [15:0] wy, wx;
    reg [LE:1] vw_d;
    wire en_w = !m_valid || m_ready;
    wire need_sums = qw == 0;
    wire stepw = en_w && (!need_sums || sums_valid);
    assign sums_pop = stepw && need_sums;
    wire emit = wpos < positions && wy >= KH - 1 && wx >= KW - 1;
    wire last_w = qw == P - 1 && wpos + 1 >= positions;  // the frame's last position

    reg [SUMS_W-1:0] blk;
    wire [SUMS_W-1:0] period_now = need_sums ? sums_data : blk;
    reg [C_OUT*ACC_W-1:0] a_sel, a1;     // position qw's sums (a P:1 mux), registered
    integer mq;
    always @* begin
        a_sel = period_now[C_OUT*ACC_W-1:0];
        for (mq = 1; mq < P; mq = mq + 1)
            if (qw == mq) a_sel = period_now[mq*C_OUT*ACC_W +: C_OUT*ACC_W];
    end
    always @(posedge clk) begin
        if (!rst_n) begin
            qw <= 0;
            wpos <= 0;
            wx <= 0;
            wy <= Y0[15:0];
            vw_d <= 0;
        end else if (en_w) begin
            vw_d <= {vw_d, stepw && emit};
            if (stepw) begin
                if (need_sums) blk <= sums_data;
                a1 <= a_sel;
                if (last_w) begin
                    qw <= 0;
                    wpos <= 0;
                    wx <= 0;
                    wy <= Y0[15:0];
                end else begin
                    qw <= qw == P - 1 ? 0 : qw + 1'b1;
                    wpos <= wpos + 1'b1;
                    if (wx == wp_last) begin
                        wx <= 0;
                        wy <= wy + 1'b1;
                    end else begin
                        wx <= wx + 1'b1;
                    end
                end
            end
        end
    end

    srhw_requant_lanes #(.N(C_OUT), .ACC_W(ACC_W), .EW(EW), .OW(OW), .SH_W(SH_W), .SLOPE_W(SLOPE_W),
                         .SLOPE_FRAC(SLOPE_FRAC), .ACT(ACT), .OUT_LO(OUT_LO), .OUT_HI(OUT_HI), .LUT_LO(LUT_LO),
                         .LUT_HI(LUT_HI), .LUT_AW(LUT_AW), .HAS_MULT(HAS_MULT), .MULT_W(MULT_W),
                         .HALF_EVEN(HALF_EVEN)) u_epi (
        .clk(clk), .en(en_w), .acc(a1), .mult(tab_mult), .shift(tab_shift), .slope(tab_slope), .lo(tab_lo), .hi(tab_hi),
        .zero(ZERO), .lut_addr(lut_addr), .lut_data(lut_data), .codes(m_data));
    assign m_valid = vw_d[LE];
endmodule
`default_nettype wire
