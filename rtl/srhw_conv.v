// Streaming 2-D convolution, stride 1, ONNX zero padding (the code PAD[c] of real 0 in
// channel c: 0, or the input's zero point), folded over output groups: the RTL
// twin of conv_stage in hls/srhw_conv.h, with the same arithmetic and the same outputs.
//
// The stage walks the padded frame ((h + PAD_T + PAD_B) x (w + PAD_L + PAD_R) positions),
// GROUPS steps per position, starting once the frame's first pixel is offered. The first
// step of a position takes a pixel from `s_*` inside the image (PAD in the padding), moves
// it through the line buffer and shifts the KH x KW window; each step then computes PO outputs
// (group g: outputs g*PO .. g*PO+PO-1) once the window is complete (y >= KH-1, x >= KW-1).
// The last group's step emits the C_OUT vector. GROUPS = 1 is full rate: one position per
// cycle. Unlike the HLS loop, the walk starts at row Y0, below the top rows that are all
// padding and precede every output; the window masks the rows above the image instead.
//
// Pipeline (all registers advance on `en`, i.e. while the output register is free):
//   step (counters, line buffer, window) -> MAC (sums registered with the group's epilogue
//   parameters) -> epilogue into the result vector -> output register.
// The weight/bias/epilogue tables live outside (generated per layer): this stage drives the
// group index `rom_g` with `rom_en` and reads the group's rows back a cycle later; a tanh layer reads its LUT through
// lut_addr / lut_data.
`default_nettype none
module srhw_conv #(
    parameter integer C_IN = 1,
    parameter integer C_OUT = 1,
    parameter integer KH = 3,
    parameter integer KW = 3,
    parameter integer PAD_T = 1,
    parameter integer PAD_L = 1,
    parameter integer PAD_B = 1,
    parameter integer PAD_R = 1,
    parameter integer MAX_W = 64,       // largest input width
    parameter integer IW = 8,           // input code width
    parameter integer I_SIGNED = 0,
    parameter integer OW = 8,           // output code width
    parameter integer WB = 8,           // weight width
    parameter integer ACC_W = 24,
    parameter integer EW = 32,          // epilogue working width
    parameter integer SH_W = 8,
    parameter integer SLOPE_W = 2,
    parameter integer SLOPE_FRAC = 0,
    parameter integer ACT = 0,
    parameter integer OUT_LO = 0,
    parameter integer OUT_HI = 255,
    parameter integer LUT_LO = 0,
    parameter integer LUT_HI = 0,
    parameter integer LUT_AW = 1,
    parameter integer PO = 1,
    parameter integer GROUPS = 1,
    parameter integer GW = 1,           // width of the group index
    parameter [C_IN*IW-1:0] PAD = 0,    // padding code per input channel
    parameter [C_OUT*EW-1:0] ZERO = 0   // zero point per output channel, added before saturation
) (
    input  wire                     clk,
    input  wire                     rst_n,
    input  wire [15:0]              h,
    input  wire [15:0]              w,
    input  wire [C_IN*IW-1:0]       s_data,
    input  wire                     s_valid,
    output wire                     s_ready,
    output reg  [C_OUT*OW-1:0]      m_data,
    output reg                      m_valid,
    input  wire                     m_ready,
    output wire [GW-1:0]            rom_g,     // group of the current step ...
    output wire                     rom_en,    // ... read on this enable: rom_* hold group g1
    input  wire [PO*C_IN*KH*KW*WB-1:0] rom_w,
    input  wire [PO*ACC_W-1:0]      rom_bias,
    input  wire [PO*SH_W-1:0]       rom_shift,
    input  wire [PO*SLOPE_W-1:0]    rom_slope,
    input  wire [PO*EW-1:0]         rom_lo,
    input  wire [PO*EW-1:0]         rom_hi,
    output wire [PO*LUT_AW-1:0]     lut_addr,
    input  wire [PO*OW-1:0]         lut_data
);
    localparam integer N = C_IN * KH * KW;
    localparam integer PW = C_IN * IW;
    localparam integer MAX_WP = MAX_W + PAD_L + PAD_R;
    // The first Y0 padding rows hold no output position (y < KH - 1) and only PAD: the walk
    // starts below them and the window masks the rows above the image instead, so frames
    // follow each other without those idle rows.
    localparam integer Y0 = PAD_T < KH - 1 ? PAD_T : KH - 1;

    // ---- step: position counters over the padded frame ----
    wire [15:0] hp = h + PAD_T + PAD_B;
    wire [15:0] wp = w + PAD_L + PAD_R;
    reg [15:0] y, x;
    reg [GW-1:0] g;
    wire en = !m_valid || m_ready;
    wire first = g == 0;
    wire in_image = y >= PAD_T && y < PAD_T + h && x >= PAD_L && x < PAD_L + w;
    wire need = first && in_image;
    // a frame begins only once its first pixel is offered (the frame size is valid by then),
    // so padding positions never run ahead of the frame
    wire at_start = first && y == Y0 && x == 0;
    wire step = en && (!(need || at_start) || s_valid);
    assign s_ready = en && need;
    wire last_x = x == wp - 1'b1;
    wire [15:0] x_next = last_x ? 16'd0 : x + 1'b1;

    always @(posedge clk) begin
        if (!rst_n) begin
            y <= Y0[15:0];
            x <= 0;
            g <= 0;
        end else if (step) begin
            if (g == GROUPS - 1) begin
                g <= 0;
                x <= x_next;
                if (last_x) y <= y == hp - 1'b1 ? Y0[15:0] : y + 1'b1;
            end else begin
                g <= g + 1'b1;
            end
        end
    end

    // ---- line buffer and window (tap (c, u, v) at ((c*KH + u)*KW + v) * IW) ----
    wire [PW-1:0] pixel = need ? s_data : PAD;
    wire [KH*PW-1:0] column;
    srhw_linebuf #(.KH(KH), .PW(PW), .DEPTH(MAX_WP), .XW(16)) u_lines (
        .clk(clk), .step(step && first), .x(x), .x_next(x_next), .pixel(pixel), .column(column));

    reg [N*IW-1:0] win;
    integer c, u, v;
    always @(posedge clk) begin
        if (step && first) begin
            for (c = 0; c < C_IN; c = c + 1)
                for (u = 0; u < KH; u = u + 1) begin
                    for (v = 0; v + 1 < KW; v = v + 1)
                        win[((c*KH + u)*KW + v)*IW +: IW] <= win[((c*KH + u)*KW + v + 1)*IW +: IW];
                    // rows above the image are padding (the skipped rows, never stored)
                    win[((c*KH + u)*KW + KW - 1)*IW +: IW] <= y + u < PAD_T + KH - 1 ? PAD[c*IW +: IW]
                                                                : column[u*PW + c*IW +: IW];
                end
        end
    end

    reg v1, last1;
    reg [GW-1:0] g1;
    always @(posedge clk) begin
        if (!rst_n) begin
            v1 <= 0;
        end else if (en) begin
            v1 <= step && y >= KH - 1 && x >= KW - 1;
            g1 <= g;
            last1 <= g == GROUPS - 1;
        end
    end

    // ---- MAC for group g1, registered with the group's epilogue parameters ----
    // The tables are read one cycle ahead (address g, on the pipeline enable), so a folded
    // layer's tables can be block-RAM ROMs with a registered read.
    assign rom_g = g;
    assign rom_en = en;
    wire [PO*ACC_W-1:0] sums;
    srhw_mac #(.N(N), .PO(PO), .IW(IW), .I_SIGNED(I_SIGNED), .WB(WB), .ACC_W(ACC_W)) u_mac (
        .window(win), .weights(rom_w), .bias(rom_bias), .sums(sums));

    reg v2, last2;
    reg [GW-1:0] g2;
    reg [PO*ACC_W-1:0] acc2;
    reg [PO*SH_W-1:0] shift2;
    reg [PO*SLOPE_W-1:0] slope2;
    reg [PO*EW-1:0] lo2, hi2;
    always @(posedge clk) begin
        if (!rst_n) begin
            v2 <= 0;
        end else if (en) begin
            v2 <= v1;
            last2 <= last1;
            g2 <= g1;
            acc2 <= sums;
            shift2 <= rom_shift;
            slope2 <= rom_slope;
            lo2 <= rom_lo;
            hi2 <= rom_hi;
        end
    end

    // ---- epilogue per lane, collected into the output vector ----
    reg [PO*EW-1:0] zero2;  // the zero points of group g2's outputs
    integer zq, zo;
    always @* begin
        zero2 = 0;
        for (zq = 0; zq < PO; zq = zq + 1) begin
            zo = g2 * PO + zq;
            if (zo < C_OUT) zero2[zq*EW +: EW] = ZERO[zo*EW +: EW];
        end
    end
    wire [PO*OW-1:0] codes;
    srhw_requant_lanes #(.N(PO), .ACC_W(ACC_W), .EW(EW), .OW(OW), .SH_W(SH_W), .SLOPE_W(SLOPE_W),
                         .SLOPE_FRAC(SLOPE_FRAC), .ACT(ACT), .OUT_LO(OUT_LO), .OUT_HI(OUT_HI), .LUT_LO(LUT_LO),
                         .LUT_HI(LUT_HI), .LUT_AW(LUT_AW)) u_epi (
        .acc(acc2), .shift(shift2), .slope(slope2), .lo(lo2), .hi(hi2), .zero(zero2), .lut_addr(lut_addr),
        .lut_data(lut_data), .codes(codes));

    reg [C_OUT*OW-1:0] res, merged;
    integer q, o;
    always @* begin
        merged = res;
        for (q = 0; q < PO; q = q + 1) begin
            o = g2 * PO + q;
            if (o < C_OUT) merged[o*OW +: OW] = codes[q*OW +: OW];
        end
    end

    always @(posedge clk) begin
        if (!rst_n) begin
            m_valid <= 0;
        end else if (en) begin
            if (v2) res <= merged;
            m_valid <= v2 && last2;
            if (v2 && last2) m_data <= merged;
        end
    end
endmodule
`default_nettype wire
