// srhw stream types: the channel vector that flows between layers, and the AXI4-Stream
// video beat at the kernel's boundary.
//
// With Vitis HLS (or any tree that has <ap_axi_sdata.h>) a beat is ap_axiu<W, 1, 1, 1>, so
// TUSER, TLAST, TKEEP and TSTRB become real side-channel ports. Without it (g++ with the open
// ap_types) an identical struct stands in; only the fields the kernel uses are read or written.
#ifndef SRHW_STREAM_H
#define SRHW_STREAM_H

#include <ap_int.h>
#include <hls_stream.h>

#if defined(__has_include)
#if __has_include(<ap_axi_sdata.h>)
#include <ap_axi_sdata.h>
#define SRHW_HAVE_AXI_SDATA 1
#endif
#endif

namespace srhw {

// N values of one pixel position (one per channel), moved as one stream element.
template <typename T, int N>
struct vec {
    T v[N];
};

#ifdef SRHW_HAVE_AXI_SDATA
template <int W>
using axis_beat = ap_axiu<W, 1, 1, 1>;
#else
template <int W>
struct axis_beat {
    ap_uint<W> data;
    ap_uint<(W + 7) / 8> keep;
    ap_uint<(W + 7) / 8> strb;
    ap_uint<1> user;  // start of frame
    ap_uint<1> last;  // end of line
    ap_uint<1> id;
    ap_uint<1> dest;
};
#endif

}  // namespace srhw

#endif  // SRHW_STREAM_H
