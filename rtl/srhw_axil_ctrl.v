// The kernel's AXI4-Lite control slave, with the register map Vitis HLS gives a top function
// whose return (and width/height, unless the size is fixed) are s_axilite:
//   0x00 control: bit 0 ap_start, 1 ap_done (clear on read), 2 ap_idle, 3 ap_ready (clear on
//        read), 7 auto_restart
//   0x04 global interrupt enable, 0x08 interrupt enable (bit 0 done, 1 ready),
//   0x0c interrupt status (toggle on write)
//   0x10 width, 0x18 height (SIZE_REGS = 1)
//   then, read-only (at 0x20, 0x28, 0x30, or 0x10, 0x18, 0x20 without the size registers):
//   the framing status (sticky flags, srhw_video_in's and the size clamp's), the beats the
//   input dropped, the pixels it filled in
// ap_start falls when the input has taken a frame (ap_ready) unless auto_restart is set.
`default_nettype none
module srhw_axil_ctrl #(
    parameter integer AW = 6,
    parameter integer SIZE_REGS = 1
) (
    input  wire          clk,
    input  wire          rst_n,
    input  wire          awvalid,
    output wire          awready,
    input  wire [AW-1:0] awaddr,
    input  wire          wvalid,
    output wire          wready,
    input  wire [31:0]   wdata,
    input  wire [3:0]    wstrb,
    output wire          bvalid,
    input  wire          bready,
    output wire [1:0]    bresp,
    input  wire          arvalid,
    output wire          arready,
    input  wire [AW-1:0] araddr,
    output wire          rvalid,
    input  wire          rready,
    output reg  [31:0]   rdata,
    output wire [1:0]    rresp,
    output wire          interrupt,
    output reg           ap_start,
    output reg  [31:0]   width,
    output reg  [31:0]   height,
    input  wire          frame_taken,  // ap_ready
    input  wire          frame_done,   // ap_done
    input  wire [31:0]   status,
    input  wire [31:0]   dropped,
    input  wire [31:0]   filled
);
    localparam [AW-1:0] STATUS = SIZE_REGS != 0 ? 'h20 : 'h10;
    localparam [1:0] W_ADDR = 0, W_DATA = 1, W_RESP = 2;
    reg [1:0] wstate;
    reg [AW-1:0] waddr;
    reg rstate;
    reg auto_restart, gie, ap_done, ap_ready;
    reg [1:0] ier, isr;
    reg [15:0] taken_n, done_n;  // frames in flight = taken_n - done_n
    wire ap_idle = !ap_start && taken_n == done_n;

    assign awready = wstate == W_ADDR;
    assign wready = wstate == W_DATA;
    assign bvalid = wstate == W_RESP;
    assign bresp = 2'b00;
    assign arready = !rstate;
    assign rvalid = rstate;
    assign rresp = 2'b00;
    assign interrupt = gie && (isr != 0);

    wire wr = wvalid && wready;
    wire [31:0] mask = {{8{wstrb[3]}}, {8{wstrb[2]}}, {8{wstrb[1]}}, {8{wstrb[0]}}};
    wire rd = arvalid && arready;
    wire [AW-1:0] ra = {araddr[AW-1:2], 2'b00};
    wire [AW-1:0] wa = {waddr[AW-1:2], 2'b00};

    always @(posedge clk) begin
        if (!rst_n) begin
            wstate <= W_ADDR;
            rstate <= 0;
            ap_start <= 0;
            auto_restart <= 0;
            gie <= 0;
            ier <= 0;
            isr <= 0;
            ap_done <= 0;
            ap_ready <= 0;
            width <= 0;
            height <= 0;
            taken_n <= 0;
            done_n <= 0;
        end else begin
            case (wstate)
                W_ADDR: if (awvalid) begin waddr <= awaddr; wstate <= W_DATA; end
                W_DATA: if (wvalid) wstate <= W_RESP;
                default: if (bready) wstate <= W_ADDR;
            endcase
            if (rd) begin
                rstate <= 1;
                case (ra)
                    'h00: rdata <= {24'd0, auto_restart, 3'd0, ap_ready, ap_idle, ap_done, ap_start};
                    'h04: rdata <= {31'd0, gie};
                    'h08: rdata <= {30'd0, ier};
                    'h0c: rdata <= {30'd0, isr};
                    default: rdata <= SIZE_REGS != 0 && ra == 'h10 ? width :
                                      SIZE_REGS != 0 && ra == 'h18 ? height :
                                      ra == STATUS ? status : ra == STATUS + 'h8 ? dropped :
                                      ra == STATUS + 'h10 ? filled : 32'd0;
                endcase
            end else if (rready) begin
                rstate <= 0;
            end
            // clear-on-read, then events (an event in the same cycle is kept), then writes
            // (a write of ap_start wins over its clearing)
            if (rd && ra == 'h00) begin
                ap_done <= 0;
                ap_ready <= 0;
            end
            if (frame_taken) begin
                taken_n <= taken_n + 1'b1;
                ap_ready <= 1;
                if (!auto_restart) ap_start <= 0;
                if (ier[1]) isr[1] <= 1;
            end
            if (frame_done) begin
                done_n <= done_n + 1'b1;
                ap_done <= 1;
                if (ier[0]) isr[0] <= 1;
            end
            if (wr) begin
                case (wa)
                    'h00: begin
                        if (wstrb[0] && wdata[0]) ap_start <= 1;
                        if (wstrb[0]) auto_restart <= wdata[7];
                    end
                    'h04: if (wstrb[0]) gie <= wdata[0];
                    'h08: if (wstrb[0]) ier <= wdata[1:0];
                    'h0c: if (wstrb[0]) isr <= isr ^ wdata[1:0];
                    default: begin
                        if (SIZE_REGS != 0 && wa == 'h10) width <= (width & ~mask) | (wdata & mask);
                        if (SIZE_REGS != 0 && wa == 'h18) height <= (height & ~mask) | (wdata & mask);
                    end
                endcase
            end
        end
    end
endmodule
`default_nettype wire
