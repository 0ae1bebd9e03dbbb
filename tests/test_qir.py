"""srhw.qir: the typed quantized IR, its checker and ir.json (versions 2 to 4 load; others are
refused with a clear message)."""
import json

import numpy as np
import pytest

from srhw import golden
from srhw.errors import SrhwError
from srhw.qir import ACTS, Certificate, PReluAct, QConv, from_json, to_json
from tests.conftest import pixels, quantized


@pytest.fixture(scope="module")
def doc(exported):
    _, q = quantized(exported, "fsrcnn_x2", 8, zero_points=True)
    return q, json.loads(to_json(q))


def _as_version_3(d: dict) -> dict:
    """The same graph as srhw wrote it before the certificate and the statistics were apart: one
    `cert` dict holding both, with every width spelled out."""
    from srhw.fixed import signed_width

    old = json.loads(json.dumps(d))
    old["version"] = 3
    for l in old["layers"]:
        c, stats = l.pop("cert"), l.pop("stats")
        merged = dict(stats)
        if c is not None:
            merged |= {"acc_bound": c["acc_bound"], "acc_width": signed_width(c["acc_bound"]),
                       "round_bound": c["round_bound"], "round_width": signed_width(c["round_bound"])}
            if c["product_bound"] is not None:
                merged |= {"prelu_product_bound": c["product_bound"],
                           "prelu_product_width": signed_width(c["product_bound"])}
        l["cert"] = merged
    return old


def test_round_trip_and_version_3_and_4_files(doc):
    q, d = doc
    assert d["version"] == 5 and to_json(from_json(to_json(q))) == to_json(q)
    v4 = json.loads(json.dumps(d))  # before models quantized already: no multipliers, round half up
    v4["version"] = 4
    for l in v4["layers"]:
        l.pop("mult", None)
        l.pop("rounding", None)
    assert to_json(from_json(json.dumps(v4))) == to_json(q)
    old = from_json(json.dumps(_as_version_3(d)))
    for a, b in zip(q.layers, old.layers):
        assert a.cert == b.cert and a.stats == b.stats, a.name
    assert any(isinstance(l.cert, Certificate) and l.cert.product_bound for l in old.layers)
    frame = pixels(1, 13, 17, seed=3)
    assert np.array_equal(golden.run(q, frame), golden.run(old, frame))


@pytest.mark.parametrize("version", [1, 6, None])
def test_other_versions_are_refused(doc, version):
    d = dict(doc[1], version=version)
    with pytest.raises(SrhwError, match=f"IR version {version} is not supported by this srhw .reads 2, 3, 4, 5."):
        from_json(json.dumps(d))


def _damaged(d: dict, layer: int, change) -> str:
    bad = json.loads(json.dumps(d))
    change(bad["layers"][layer])
    return json.dumps(bad)


DAMAGE = {
    "reads 'nowhere' before it is computed": lambda l: l.update(inputs=["nowhere"]),
    "no overflow certificate": lambda l: l.update(cert=None),
    "certified widths beyond 62 bits": lambda l: l["cert"].update(round_bound=1 << 70),
    "weight codes wider than w_width": lambda l: l.update(w_width=2),
    "w_frac, bias or acc_frac do not match": lambda l: l["bias"].update(shape=[1], data=l["bias"]["data"][:1]),
    "slope values for": lambda l: l["act"]["slope"].update(shape=[2], data=l["act"]["slope"]["data"][:2]),
}


@pytest.mark.parametrize("what", list(DAMAGE))
def test_checker_names_the_damaged_layer(doc, what):
    q, d = doc
    k = next(i for i, l in enumerate(q.layers) if isinstance(l, QConv) and isinstance(l.act, PReluAct))
    with pytest.raises(SrhwError, match=f"layer '{q.layers[k].name}' \\(Conv\\): .*{what}"):
        from_json(_damaged(d, k, DAMAGE[what]))


def test_activation_kinds_are_a_closed_set(doc):
    _, d = doc
    assert sorted(a.kind for a in ACTS) == ["clip", "none", "prelu", "relu", "tanh"]
    with pytest.raises(SrhwError, match="unknown activation kind 'swish'; supported: none, relu, clip, prelu, tanh"):
        from_json(_damaged(d, 0, lambda l: l["act"].update(kind="swish")))


@pytest.mark.parametrize("name", ["fsrcnn_x2_odd", "srcnn", "srcnn_955", "residual_rgb", "espcn_x3"])
def test_sizes_against_the_golden_model(exported, name):
    """QGraph.output_size, growth and min_input_size against the frames the golden model
    actually returns: padded, cropped, unpadded and residual networks."""
    _, q = quantized(exported, name, 8)
    mh, mw = q.min_input_size()
    gh, gw = q.growth()
    for h, w in ((mh, mw), (mh + 3, mw + 8)):
        out = golden.run(q, pixels(q.input_channels, h, w, seed=h))
        assert out.shape[1:] == q.output_size(h, w)
        crop = [l for l in q.layers if l.kind == "Crop"]
        cb, cr = (crop[0].bottom, crop[0].right) if crop else (0, 0)
        assert out.shape[1:] == ((h + gh) * q.scale - cb, (w + gw) * q.scale - cr)
    assert q.output_size(mh - 1, mw) is None if mh > 1 else q.output_size(1, 1) is not None

