"""The float IR after the whole pipeline matches onnxruntime on every factory model, both
exporters, odd and non-square frames."""
import pytest

from tests.conftest import EXPORTERS, assert_float_matches_ort, compile_float, pixels

MODELS = ["fsrcnn_x2", "fsrcnn_x2_odd", "fsrcnn_steep", "fsrcnn_x3", "fsrcnn_x4", "espcn_x3", "espcn_x2_rgb", "srcnn", "shuffle_crd",
          "shuffle_dcr_rgb", "residual_rgb"]


@pytest.mark.parametrize("exporter", EXPORTERS)
@pytest.mark.parametrize("name", MODELS)
def test_pipeline_matches_onnxruntime(exported, name, exporter):
    path = exported(name, exporter)
    graph = compile_float(path)
    c = graph.inputs[0].shape[1]
    for h, w in ((23, 37), (16, 16)):
        assert_float_matches_ort(path, graph, pixels(c, h, w, seed=h))


def test_layers_with_identical_weights_from_the_torchscript_exporter(tmp_path):
    """Two layers initialised alike (LapSRN's bilinear image branch, level after level): the
    TorchScript exporter keeps one initializer and feeds the second layer an Identity of it."""
    import onnx
    import torch
    from torch import nn

    from tests.conftest import export

    class TwoLevels(nn.Module):
        def __init__(self):
            super().__init__()
            self.up = nn.ModuleList(nn.ConvTranspose2d(1, 1, 4, stride=2, padding=1) for _ in range(2))
            with torch.no_grad():
                for u in self.up:
                    u.weight.copy_(torch.arange(16.0).reshape(1, 1, 4, 4) / 40)
                    u.bias.fill_(0.01)

        def forward(self, x):
            return self.up[1](self.up[0](x))

    path = export(TwoLevels().eval(), tmp_path / "m.onnx", "torchscript")
    m = onnx.load(str(path))
    weights = {n.input[1] for n in m.graph.node if n.op_type == "ConvTranspose"}
    assert any(n.op_type == "Identity" and n.output[0] in weights for n in m.graph.node)  # the case exercised
    graph = compile_float(path)
    for h, w in ((9, 14), (16, 16)):
        assert_float_matches_ort(path, graph, pixels(1, h, w, seed=h))
