"""The last step of the float pipeline: every remaining node must be one quantization takes.

Contract: returns the graph unchanged, or raises one error listing every node left over
(e.g. a Mul of two tensors, an Abs that was not part of a PReLU pattern), or saying that no
convolution is left (a graph of Identity or pointwise ops only is not a CNN to compile).
"""
from __future__ import annotations

from srhw import ir
from srhw.errors import NodeProblem, UnsupportedModelError

QUANTIZABLE = (ir.Constant, ir.Conv, ir.Affine, ir.Add, ir.DepthToSpace, ir.Crop, ir.Quantize)


def verify_supported(graph: ir.Graph) -> ir.Graph:
    problems = []
    for n in graph.nodes:
        if not isinstance(n, QUANTIZABLE):
            what = n.kind if isinstance(n, ir.Binary) else n.op_type
            problems.append(NodeProblem(n.name, what, "this operation on image tensors has no fixed-point form "
                                        "(supported: Conv, ConvTranspose, DepthToSpace/PixelShuffle, PRelu, Relu, "
                                        "LeakyRelu, Tanh, Clip, Add of two tensors, elementwise ops with constants)"))
    if not problems and not any(isinstance(n, ir.Conv) for n in graph.nodes):
        problems.append(NodeProblem("<graph>", "graph", "no convolution (Conv or ConvTranspose); srhw compiles "
                                    "convolutional super-resolution networks"))
    if problems:
        raise UnsupportedModelError(problems)
    return graph
