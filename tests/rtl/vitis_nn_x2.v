// A hand-written stand-in for RTL exported by Vitis HLS: nearest-neighbour x2 upscaling with
// the port names, AXI4-Stream side channels and s_axi_control register map (0x00 control,
// 0x10 width, 0x18 height) that Vitis gives a top function
//   void vitis_nn_x2(stream<ap_axiu<8,1,1,1>>& s_axis_video, stream<ap_axiu<16,1,1,1>>& m_axis_video,
//                   int width, int height)
// Written independently of srhw's rtl/ library, to test that the harness drives foreign RTL.
`default_nettype none
module vitis_nn_x2 (
    input  wire        ap_clk,
    input  wire        ap_rst_n,
    input  wire [7:0]  s_axis_video_TDATA,
    input  wire        s_axis_video_TVALID,
    output wire        s_axis_video_TREADY,
    input  wire [0:0]  s_axis_video_TKEEP,
    input  wire [0:0]  s_axis_video_TSTRB,
    input  wire [0:0]  s_axis_video_TUSER,
    input  wire [0:0]  s_axis_video_TLAST,
    input  wire [0:0]  s_axis_video_TID,
    input  wire [0:0]  s_axis_video_TDEST,
    output wire [15:0] m_axis_video_TDATA,
    output wire        m_axis_video_TVALID,
    input  wire        m_axis_video_TREADY,
    output wire [1:0]  m_axis_video_TKEEP,
    output wire [1:0]  m_axis_video_TSTRB,
    output wire [0:0]  m_axis_video_TUSER,
    output wire [0:0]  m_axis_video_TLAST,
    output wire [0:0]  m_axis_video_TID,
    output wire [0:0]  m_axis_video_TDEST,
    input  wire        s_axi_control_AWVALID,
    output wire        s_axi_control_AWREADY,
    input  wire [4:0]  s_axi_control_AWADDR,
    input  wire        s_axi_control_WVALID,
    output wire        s_axi_control_WREADY,
    input  wire [31:0] s_axi_control_WDATA,
    input  wire [3:0]  s_axi_control_WSTRB,
    input  wire        s_axi_control_ARVALID,
    output wire        s_axi_control_ARREADY,
    input  wire [4:0]  s_axi_control_ARADDR,
    output wire        s_axi_control_RVALID,
    input  wire        s_axi_control_RREADY,
    output wire [31:0] s_axi_control_RDATA,
    output wire [1:0]  s_axi_control_RRESP,
    output wire        s_axi_control_BVALID,
    input  wire        s_axi_control_BREADY,
    output wire [1:0]  s_axi_control_BRESP,
    output wire        interrupt
);
    // control: a write is taken when address and data are both offered
    reg bvalid, rvalid, started;
    reg [15:0] width, height;
    wire wtake = s_axi_control_AWVALID && s_axi_control_WVALID && !bvalid;
    assign s_axi_control_AWREADY = wtake;
    assign s_axi_control_WREADY = wtake;
    assign s_axi_control_BVALID = bvalid;
    assign s_axi_control_BRESP = 2'b00;
    assign s_axi_control_ARREADY = !rvalid;
    assign s_axi_control_RVALID = rvalid;
    assign s_axi_control_RDATA = 32'd0;
    assign s_axi_control_RRESP = 2'b00;
    assign interrupt = 1'b0;

    // datapath: row 2y passes LR pixels straight through (doubled) while storing them,
    // row 2y+1 repeats the stored row
    localparam [1:0] SYNC = 0, PASS = 1, REPEAT = 2;
    reg [1:0] state;
    reg [15:0] x, y;
    reg [7:0] row [0:255];
    wire passing = state == PASS || (state == SYNC && s_axis_video_TUSER[0]);
    wire [7:0] px = state == REPEAT ? row[x] : s_axis_video_TDATA;
    assign m_axis_video_TDATA = {px, px};
    assign m_axis_video_TVALID = state == REPEAT || (started && passing && s_axis_video_TVALID);
    assign s_axis_video_TREADY = started && (state == PASS ? m_axis_video_TREADY : (state == SYNC ? (!s_axis_video_TUSER[0] || m_axis_video_TREADY) : 1'b0));
    assign m_axis_video_TUSER = state != REPEAT && y == 0 && x == 0;
    assign m_axis_video_TLAST = x == width - 1;
    assign m_axis_video_TKEEP = 2'b11;
    assign m_axis_video_TSTRB = 2'b11;
    assign m_axis_video_TID = 1'b0;
    assign m_axis_video_TDEST = 1'b0;
    wire beat = m_axis_video_TVALID && m_axis_video_TREADY;

    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            bvalid <= 0;
            rvalid <= 0;
            started <= 0;
            width <= 0;
            height <= 0;
            state <= SYNC;
            x <= 0;
            y <= 0;
        end else begin
            if (wtake) begin
                bvalid <= 1;
                if (s_axi_control_AWADDR == 5'h00 && s_axi_control_WDATA[0]) started <= 1;
                if (s_axi_control_AWADDR == 5'h10) width <= s_axi_control_WDATA[15:0];
                if (s_axi_control_AWADDR == 5'h18) height <= s_axi_control_WDATA[15:0];
            end else if (s_axi_control_BREADY) begin
                bvalid <= 0;
            end
            if (s_axi_control_ARVALID && !rvalid) rvalid <= 1;
            else if (s_axi_control_RREADY) rvalid <= 0;
            if (beat) begin
                if (state != REPEAT) row[x] <= s_axis_video_TDATA;
                if (x != width - 1) begin
                    x <= x + 1'b1;
                    if (state == SYNC) state <= PASS;
                end else begin
                    x <= 0;
                    if (state != REPEAT) begin
                        state <= REPEAT;
                    end else if (y == height - 1) begin
                        y <= 0;
                        state <= SYNC;
                    end else begin
                        y <= y + 1'b1;
                        state <= PASS;
                    end
                end
            end
        end
    end
endmodule
`default_nettype wire
