// Pipelined balanced adder tree: the sum of N signed W-bit terms, LAT cycles after they are
// given (while `en` is high). Level l of the tree adds pairs of level l - 1; a level is
// registered when an output register lies LPR levels below it, so no register-to-register
// path holds more than LPR adders and the sum always leaves a register. Levels past
// ceil(log2 N) / LPR registers, up to LAT, are plain delay registers (trees of different
// sizes then line up). W must hold every partial sum: the accumulator width of the overflow
// certificate does (docs/arithmetic.md: |any partial sum| <= sum |w| max|x| + |b|).
`default_nettype none
module srhw_tree #(
    parameter integer N = 2,      // terms
    parameter integer W = 16,     // width of every term and sum
    parameter integer LPR = 2,    // adder levels per register stage
    parameter integer LAT = 1     // cycles from the terms to the sum (at least stages(N, LPR))
) (
    input  wire           clk,
    input  wire           en,
    input  wire [N*W-1:0] x,
    output wire [W-1:0]   sum
);
    function integer levels;  // ceil(log2(n))
        input integer n;
        integer m;
        begin
            levels = 0;
            m = 1;
            while (m < n) begin
                m = m * 2;
                levels = levels + 1;
            end
        end
    endfunction

    function integer nodes;  // terms left after l levels: ceil(n / 2^l)
        input integer n;
        input integer l;
        nodes = (n + (1 << l) - 1) >> l;
    endfunction

    localparam integer D = levels(N);
    localparam integer STAGES = (D + LPR - 1) / LPR;
    localparam integer PAD = LAT > STAGES ? LAT - STAGES : 0;

    genvar l, i;
    generate
        for (l = 0; l <= D; l = l + 1) begin : g_level
            wire [nodes(N, l)*W-1:0] v;
            if (l == 0) begin : g_in
                assign v = x;
            end else begin : g_add
                wire [nodes(N, l)*W-1:0] s;
                for (i = 0; i < nodes(N, l); i = i + 1) begin : g_node
                    if (2 * i + 1 < nodes(N, l - 1)) begin : g_pair
                        assign s[i*W +: W] = g_level[l-1].v[2*i*W +: W] + g_level[l-1].v[(2*i+1)*W +: W];
                    end else begin : g_pass
                        assign s[i*W +: W] = g_level[l-1].v[2*i*W +: W];
                    end
                end
                if ((D - l) % LPR == 0) begin : g_reg
                    reg [nodes(N, l)*W-1:0] r;
                    always @(posedge clk) if (en) r <= s;
                    assign v = r;
                end else begin : g_wire
                    assign v = s;
                end
            end
        end
        for (l = 0; l <= PAD; l = l + 1) begin : g_delay
            wire [W-1:0] v;
            if (l == 0) begin : g_from_tree
                assign v = g_level[D].v[W-1:0];
            end else begin : g_reg
                reg [W-1:0] r;
                always @(posedge clk) if (en) r <= g_delay[l-1].v;
                assign v = r;
            end
        end
    endgenerate
    assign sum = g_delay[PAD].v;
endmodule
`default_nettype wire
