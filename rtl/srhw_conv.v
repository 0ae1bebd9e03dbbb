// Streaming 2-D convolution, stride 1, ONNX zero padding (the code PAD[c] of real 0 in
// channel c: 0, or the input's zero point), folded over output groups: the RTL twin of
// conv_stage in hls/srhw_conv.h, with the same arithmetic and the same outputs.
//
// The stage walks the padded frame from row Y0 = min(PAD_T, KH - 1) (the rows above hold no
// output and only PAD: the window masks the rows above the image instead), GROUPS steps per
// position, starting once the frame's first pixel is offered. The first step of a position
// takes a pixel from `s_*` inside the image (PAD in the padding), moves it through the line
// buffer and shifts the KH x KW window; each step then computes PO outputs (group g: outputs
// g*PO .. g*PO+PO-1) once the window is complete (y >= KH-1, x >= KW-1). The last group's
// step emits the C_OUT vector. GROUPS = 1 is full rate: one position per cycle.
//
// Input chunks (CHUNKS > 1, a rate no schedule reaches): a group takes CHUNKS steps, step
// k = g * CHUNKS + s multiplying chunk s of the window (taps s*SIMD .. s*SIMD+SIMD-1, zeros past
// the last: a CHUNKS:1 multiplexer per tap, shared by the PO lanes) with ROM word k; each lane's
// running sum is one register and one adder (the bias enters with word g * CHUNKS), and the
// group's last chunk goes on to the epilogue.
//
// Pipeline (every register advances on `en`, i.e. while the output register is free), from a
// step at cycle t: the step's weight word is read from its ROM (t + 1); the products are
// registered (t + 2); the adder trees (srhw_mac, LAT_T stages); the epilogue (srhw_requant, 5
// stages, its parameters read from the ROM's second port so that they arrive with the sums);
// the group's codes go into the result vector, which leaves at the last group: LC = 8 + LAT_T
// cycles from step to m_valid. Input chunks add three stages: the chunk register (the ROM read
// one cycle later to meet it) and the running sum: LC = 10 + LAT_T.
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
    parameter integer MUL_W = WB + IW,  // product width (srhw.fixed.multiplier_width)
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
    parameter integer HAS_MULT = 0,     // a model quantized already: acc * mult, rounding half to even
    parameter integer MULT_W = 1,
    parameter integer HALF_EVEN = 0,
    parameter integer PO = 1,
    parameter integer GROUPS = 1,
    parameter integer GW = 1,           // width of the group index
    parameter integer CHUNKS = 1,       // steps per group (input chunks)
    parameter integer SIMD = C_IN * KH * KW,  // taps per chunk
    parameter integer KB = 1,           // width of the step index (GROUPS * CHUNKS steps)
    parameter integer LPR = 2,          // adder levels per register stage
    parameter integer LAT_T = 3,        // the MAC trees' latency
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
    output wire                     rom_en,    // the ROMs' read enable
    output wire [KB-1:0]            rom_k,     // weights and bias of this step, read on the clock
    output wire [GW-1:0]            rom_ge,    // epilogue parameters of this group, read on the clock
    input  wire [PO*SIMD*WB-1:0]    rom_w,
    input  wire [PO*ACC_W-1:0]      rom_bias,
    input  wire [PO*MULT_W-1:0]     rom_mult,
    input  wire [PO*SH_W-1:0]       rom_shift,
    input  wire [PO*SLOPE_W-1:0]    rom_slope,
    input  wire [PO*EW-1:0]         rom_lo,
    input  wire [PO*EW-1:0]         rom_hi,
    output wire [PO*LUT_AW-1:0]     lut_addr,
    input  wire [PO*OW-1:0]         lut_data
);
    localparam integer N = C_IN * KH * KW;
    localparam integer PW = C_IN * IW;
    localparam integer Y0 = PAD_T < KH - 1 ? PAD_T : KH - 1;
    localparam integer STEPS = GROUPS * CHUNKS;
    localparam integer XC = CHUNKS > 1 ? 1 : 0;  // the chunk register's stage, and the running sum's
    localparam integer SB = CHUNKS > 1 ? $clog2(CHUNKS) : 1;
    localparam integer LM = 1 + LAT_T;      // srhw_mac: products, trees
    localparam integer LE = 1 + LM + 2*XC;  // step to epilogue: ROM read (and chunk), MAC (and running sum)
    localparam integer LC = LE + 5 + 1;     // epilogue, result vector

    // ---- step: position counters over the padded frame ----
    // the frame's geometry, registered (h and w change only between frames)
    reg [15:0] hp_last, wp_last, y_end, x_end;
    always @(posedge clk) begin
        hp_last <= h + PAD_T + PAD_B - 1;
        wp_last <= w + PAD_L + PAD_R - 1;
        y_end <= PAD_T + h;
        x_end <= PAD_L + w;
    end
    reg [15:0] y, x;
    reg [GW-1:0] g;
    reg [SB-1:0] s;
    reg [KB-1:0] k;                     // g * CHUNKS + s
    wire en = !m_valid || m_ready;
    wire first = k == 0;
    wire in_image = y >= PAD_T && y < y_end && x >= PAD_L && x < x_end;
    wire need = first && in_image;
    // a frame begins only once its first pixel is offered (the frame size is valid by then),
    // so padding positions never run ahead of the frame
    wire at_start = first && y == Y0 && x == 0;
    wire step = en && (!(need || at_start) || s_valid);
    assign s_ready = en && need;
    wire last_x = x == wp_last;
    wire [15:0] x_next = last_x ? 16'd0 : x + 1'b1;

    always @(posedge clk) begin
        if (!rst_n) begin
            y <= Y0[15:0];
            x <= 0;
            g <= 0;
            s <= 0;
            k <= 0;
        end else if (step) begin
            if (k == STEPS - 1) begin
                g <= 0;
                s <= 0;
                k <= 0;
                x <= x_next;
                if (last_x) y <= y == hp_last ? Y0[15:0] : y + 1'b1;
            end else begin
                k <= k + 1'b1;
                if (s == CHUNKS - 1) begin
                    s <= 0;
                    g <= g + 1'b1;
                end else begin
                    s <= s + 1'b1;
                end
            end
        end
    end

    // ---- line buffer and window (tap (c, u, v) at ((c*KH + u)*KW + v) * IW) ----
    wire [PW-1:0] pixel = need ? s_data : PAD;
    wire [KH*PW-1:0] column;
    srhw_linebuf #(.KH(KH), .PW(PW), .DEPTH(MAX_W + PAD_L + PAD_R), .XW(16)) u_lines (
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

    // ---- the step's flags, group and chunk along the pipeline ----
    reg [LC:1] v_d, last_d, chunk_last_d, chunk_first_d;
    reg [LC*GW-1:0] g_d;                // g_d[(i-1)*GW +: GW]: the group i cycles after its step
    reg [KB-1:0] k_d;                   // the step one cycle after it
    reg [SB-1:0] s_d;
    always @(posedge clk) begin
        if (!rst_n) begin
            v_d <= 0;
        end else if (en) begin
            v_d <= {v_d, step && y >= KH - 1 && x >= KW - 1};
            last_d <= {last_d, k == STEPS - 1};
            chunk_last_d <= {chunk_last_d, s == CHUNKS - 1};
            chunk_first_d <= {chunk_first_d, s == 0};
            g_d <= {g_d, g};
            k_d <= k;
            s_d <= s;
        end
    end

    // ---- ROM reads (the weights with the operands, the epilogue parameters with the sums) ----
    assign rom_en = en;
    assign rom_k = XC ? k_d : k;
    assign rom_ge = g_d[(LE - 1)*GW-1 -: GW];   // the group LE - 1 cycles after its step, read one ahead

    // ---- the operands: the window, or its chunk s (registered, one cycle after the step) ----
    wire [SIMD*IW-1:0] operands;
    generate
        if (CHUNKS > 1) begin : g_chunk
            wire [CHUNKS*SIMD*IW-1:0] taps;
            if (CHUNKS * SIMD > N) begin : g_tail
                assign taps = {{((CHUNKS*SIMD - N)*IW){1'b0}}, win};  // zeros past the last tap
            end else begin : g_even
                assign taps = win;
            end
            // an AND-OR multiplexer over the CHUNKS slices (a part-select at a computed offset
            // would be a barrel shifter as wide as the window)
            reg [SIMD*IW-1:0] pick, chunk;
            integer ci;
            always @* begin
                pick = {SIMD*IW{1'b0}};
                for (ci = 0; ci < CHUNKS; ci = ci + 1)
                    pick = pick | (taps[ci*SIMD*IW +: SIMD*IW] & {SIMD*IW{s_d == ci}});
            end
            always @(posedge clk) if (en) chunk <= pick;
            assign operands = chunk;
        end else begin : g_whole
            assign operands = win;
        end
    endgenerate

    wire [PO*ACC_W-1:0] mac_sums, sums;
    srhw_mac #(.N(SIMD), .PO(PO), .IW(IW), .I_SIGNED(I_SIGNED), .WB(WB), .MUL_W(MUL_W), .ACC_W(ACC_W), .LPR(LPR),
               .LAT_T(LAT_T)) u_mac (
        .clk(clk), .en(en), .window(operands), .weights(rom_w), .bias(rom_bias), .sums(mac_sums));

    // ---- the running sum over a group's chunks (ACC_W holds every partial sum: the certificate) ----
    generate
        if (CHUNKS > 1) begin : g_run
            reg [PO*ACC_W-1:0] run;
            integer rp;
            always @(posedge clk)
                if (en && v_d[LE - 1])
                    for (rp = 0; rp < PO; rp = rp + 1)
                        run[rp*ACC_W +: ACC_W] <= (chunk_first_d[LE - 1] ? {ACC_W{1'b0}} : run[rp*ACC_W +: ACC_W])
                                                  + mac_sums[rp*ACC_W +: ACC_W];
            assign sums = run;
        end else begin : g_direct
            assign sums = mac_sums;
        end
    endgenerate

    // ---- epilogue per lane ----
    wire [GW-1:0] g_epi = g_d[LE*GW-1 -: GW];  // the group whose sums enter the epilogue
    reg [PO*EW-1:0] zero_epi;  // its zero points (a GROUPS:1 mux of constants)
    integer zg, zq;
    always @* begin
        zero_epi = 0;
        for (zg = 0; zg < GROUPS; zg = zg + 1)
            if (g_epi == zg)
                for (zq = 0; zq < PO; zq = zq + 1)
                    if (zg * PO + zq < C_OUT) zero_epi[zq*EW +: EW] = ZERO[(zg*PO + zq)*EW +: EW];
    end
    wire [PO*OW-1:0] codes;
    srhw_requant_lanes #(.N(PO), .ACC_W(ACC_W), .EW(EW), .OW(OW), .SH_W(SH_W), .SLOPE_W(SLOPE_W),
                         .SLOPE_FRAC(SLOPE_FRAC), .ACT(ACT), .OUT_LO(OUT_LO), .OUT_HI(OUT_HI), .LUT_LO(LUT_LO),
                         .LUT_HI(LUT_HI), .LUT_AW(LUT_AW), .HAS_MULT(HAS_MULT), .MULT_W(MULT_W),
                         .HALF_EVEN(HALF_EVEN)) u_epi (
        .clk(clk), .en(en), .acc(sums), .mult(rom_mult), .shift(rom_shift), .slope(rom_slope), .lo(rom_lo), .hi(rom_hi),
        .zero(zero_epi), .lut_addr(lut_addr), .lut_data(lut_data), .codes(codes));

    // ---- the group's codes into the result vector; the last group emits it ----
    wire [GW-1:0] g_out = g_d[(LC-2)*GW +: GW];  // the group LC - 1 cycles after its step
    reg [C_OUT*OW-1:0] res, merged;
    integer mg, mq;
    always @* begin
        merged = res;
        for (mg = 0; mg < GROUPS; mg = mg + 1)
            if (g_out == mg)
                for (mq = 0; mq < PO; mq = mq + 1)
                    if (mg * PO + mq < C_OUT) merged[(mg*PO + mq)*OW +: OW] = codes[mq*OW +: OW];
    end

    always @(posedge clk) begin
        if (!rst_n) begin
            m_valid <= 0;
        end else if (en) begin
            if (v_d[LC - 1] && chunk_last_d[LC - 1]) res <= merged;
            m_valid <= v_d[LC - 1] && last_d[LC - 1];
            if (v_d[LC - 1] && last_d[LC - 1]) m_data <= merged;
        end
    end
endmodule
`default_nettype wire
