"""Widths chosen to a PSNR budget (srhw.quant.mixed, `srhw compile --psnr-budget`): the chosen
widths' loss, measured here through onnxruntime, is within the budget; nothing measured within
it is cheaper; the cost model counts a 4x4-bit product as a LUT multiplier."""
import numpy as np
import pytest

import srhw
from srhw import golden
from srhw.backends.folding import plan
from srhw.compiler import load_frames
from srhw.evaluate import lr_of
from srhw.options import OptionError
from srhw.fixed import LUT_PRODUCT_BITS
from srhw.quant.mixed import CostModel
from tests.conftest import compile_float, ort_pixels


def _psnr(y, ref, shave):
    d = y[..., shave:-shave, shave:-shave].astype(np.float64) - ref[..., shave:-shave, shave:-shave]
    return 10 * np.log10(255.0 ** 2 / np.mean(d * d))


def test_the_chosen_widths_lose_at_most_the_budget_at_the_least_cost(exported):
    model = exported("fsrcnn_x2", "dynamo")
    res = srhw.compile(str(model), psnr_budget=0.25, weight_rounding="nearest", hls=False, progress=False)
    q, ws = res.qgraph, res.qgraph.meta.width_search
    assert ws["within_budget"] and ws["chosen"]["final_loss_db"] <= 0.25
    # the loss again, the float model run by onnxruntime on the calibration frames' bicubic downscales
    graph = compile_float(model)
    uniform_q = srhw.compile(str(model), weight_rounding="nearest", hls=False, progress=False).qgraph
    losses, uniform_losses = [], []
    for hr in load_frames(None, 1):
        hr = hr[:, : hr.shape[1] // 2 * 2, : hr.shape[2] // 2 * 2]
        lr = lr_of(hr[0], 2)[None]
        flt = _psnr(np.floor(np.clip(ort_pixels(model, graph, lr)[0], 0, 255) + 0.5), hr, 2)
        losses.append(flt - _psnr(golden.run(q, lr), hr, 2))
        uniform_losses.append(flt - _psnr(golden.run(uniform_q, lr), hr, 2))
    assert abs(np.mean(losses) - ws["chosen"]["final_loss_db"]) < 1e-3, (np.mean(losses), ws["chosen"])
    # uniform W8A8 meets this budget (measured above), so the choice costs no more than it
    assert np.mean(uniform_losses) <= 0.25
    uniform_cost = CostModel(plan(uniform_q, srhw.options.CompileOptions().target(uniform_q.scale)), uniform_q)
    assert ws["chosen"]["dsp_equivalent"] <= uniform_cost(uniform_q).dsp_equivalent + 1e-9
    # the graph has the chosen widths; no point of the front within the budget is cheaper
    assert [list(e) for e in q.meta.layer_bits or ()] == [[n, w if w is not None else 8, a]
                                                          for n, w, a in ws["chosen"]["layer_bits"]]
    within = [p for p in ws["front"] if p["loss_db"] <= 0.25]
    assert ws["chosen"]["dsp_equivalent"] == min(p["dsp_equivalent"] for p in within)
    assert "## Widths chosen to a PSNR budget of 0.25 dB" in res.report and "| **chosen** |" in res.report
    assert ws["evaluations"] >= len(ws["front"]) >= 1


def test_a_product_of_4x4_bits_is_a_lut_multiplier(exported):
    """Lowering l02_conv's weights and l01_conv's codes (its input) to 4 bits moves exactly
    l02_conv's multipliers from DSP slices to LUT multipliers; 4-bit weights alone move none."""
    model = str(exported("fsrcnn_x2", "dynamo"))
    base = srhw.compile(model, weight_rounding="nearest", hls=False, progress=False).qgraph
    fold = plan(base, srhw.options.CompileOptions().target(base.scale))
    cost = CostModel(fold, base)
    mults = {s.name: s.multipliers for s in fold.stages}
    u = cost(base)
    assert (u.dsp, u.lut_multipliers) == (sum(mults.values()), 0)
    lut = srhw.compile(model, weight_rounding="nearest", hls=False, progress=False,
                       layer_bits=(("l01_conv", None, LUT_PRODUCT_BITS), ("l02_conv", LUT_PRODUCT_BITS, None))).qgraph
    c = cost(lut)
    assert (c.dsp, c.lut_multipliers) == (u.dsp - mults["l02_conv"], mults["l02_conv"]) and mults["l02_conv"] > 0
    assert c.memory_bits < u.memory_bits and c.dsp_equivalent < u.dsp_equivalent
    w4 = srhw.compile(model, weight_rounding="nearest", hls=False, progress=False,
                      layer_bits=(("l02_conv", 4, None),)).qgraph
    assert cost(w4).lut_multipliers == 0


@pytest.mark.parametrize("fields,needle", [({"psnr_budget": -0.1}, "psnr_budget must be positive"),
                                           ({"psnr_budget": 0.1, "layer_bits": (("l01_conv", 4, 4),)}, "not both")])
def test_bad_budgets_are_refused_before_any_work(fields, needle):
    with pytest.raises(OptionError, match=needle):
        srhw.options.CompileOptions(**fields)
