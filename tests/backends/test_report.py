"""srhw.report: summary.json and report.md say what the quantized graph and the plan hold,
counted here from the ONNX file and the QGraph themselves."""
import numpy as np
import onnx
from onnx import numpy_helper

import srhw
from srhw.fixed import signed_width
from srhw.qir import QConv


def test_summary_counts_against_the_onnx_file(exported):
    path = exported("espcn_x3", "dynamo")
    r = srhw.compile(path, progress=False, in_size="64x48")
    s, q = r.summary, r.qgraph
    m = onnx.load(str(path))
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    conv_w = [inits[n.input[1]] for n in m.graph.node if n.op_type == "Conv"]
    # ESPCN: every conv runs at LR resolution, so its MACs per LR pixel are its weight's size
    assert s["macs_per_lr_pixel"] == sum(w.size for w in conv_w)
    assert s["parameters"] == sum(v.size for v in inits.values() if v.ndim >= 1 and v.dtype.kind == "f")
    assert s["layers"] == len(q.layers) and s["scale"] == 3
    certs = [l.cert for l in q.layers if isinstance(l, QConv)]
    assert s["max_accumulator_width"] == max(signed_width(c.acc_bound) for c in certs)
    assert s["hls"]["multipliers"] == sum(st["multipliers"] for st in s["hls"]["stages"])
    assert s["hls"]["projected_fps"] >= 60
    for l in q.layers:   # every layer in the report, with its certified accumulator width
        line = next(x for x in r.report.splitlines() if f"| {l.name} |" in x or f"`{l.name}`" in x)
        if isinstance(l, QConv):
            assert str(l.cert.acc_width) in line
    assert np.isfinite(s["psnr_fixed_vs_float_db"])
