"""EDSR and LapSRN as TensorFlow writes them, exported by tf2onnx: the edsr_tf_* and lapsrn_tf_*
files beside this script (small widths, so that the tests run them end to end in seconds).

    pip install tensorflow-cpu==2.21.0 tf2onnx==1.17.0 onnx==1.22.0   # a separate environment
    python tests/data/tf2onnx/make_residual.py

Keras, NHWC, `padding="same"`, the TF idioms of the public TF implementations:

- EDSR (the shape of the widely used Keras EDSR: normalize, head conv, residual blocks of
  conv-ReLU-conv with the residual scaled by a constant Mul, a body conv and the global skip,
  sub-pixel upsampling by `tf.nn.depth_to_space`, x4 as two x2 stages, tail conv, denormalize):
  the RGB mean shift is a Sub and a Mul by constants at the input and their inverse at the output.
- LapSRN (a Laplacian pyramid, one level per x2: a feature branch of 3x3 convs with LeakyReLU
  0.2, a 4x4 stride-2 Conv2DTranspose in the feature branch and in the image branch, a 3x3 conv
  from the upsampled features to a residual image, an Add per level): the LeakyReLU written out
  as `relu(x) - 0.2 * relu(-x)`, as TF1-era code does, which tf2onnx exports as a Sub of two
  tensors.

The weights are Keras's initialisation under a fixed seed, scaled down where a deep stack would
otherwise saturate; what is tested is the graph, not the picture.
"""
from pathlib import Path

import numpy as np
import tensorflow as tf
import tf2onnx

HERE = Path(__file__).resolve().parent
RGB_MEAN = np.array([0.4488, 0.4371, 0.4040]) * 255  # DIV2K's mean, as the Keras EDSR normalises


def edsr(scale: int, filters: int = 8, blocks: int = 2, res_scale: float = 0.1) -> tf.keras.Model:
    tf.keras.utils.set_random_seed(10 + scale)
    x_in = tf.keras.Input(shape=(None, None, 3), name="lr")
    x = tf.keras.layers.Lambda(lambda t: (t - RGB_MEAN) / 127.5, name="normalize")(x_in)
    x = b = tf.keras.layers.Conv2D(filters, 3, padding="same", name="head")(x)
    for i in range(blocks):
        r = tf.keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"res{i}_a")(b)
        r = tf.keras.layers.Conv2D(filters, 3, padding="same", name=f"res{i}_b")(r)
        r = tf.keras.layers.Lambda(lambda t: t * res_scale, name=f"res{i}_scale")(r)
        b = tf.keras.layers.Add(name=f"res{i}_add")([b, r])
    b = tf.keras.layers.Conv2D(filters, 3, padding="same", name="body")(b)
    x = tf.keras.layers.Add(name="global_skip")([x, b])
    for k, f in enumerate([2, 2] if scale == 4 else [scale]):
        x = tf.keras.layers.Conv2D(filters * f * f, 3, padding="same", name=f"up{k}_conv")(x)
        x = tf.keras.layers.Lambda(lambda t, f=f: tf.nn.depth_to_space(t, f), name=f"up{k}_shuffle")(x)
    x = tf.keras.layers.Conv2D(3, 3, padding="same", name="tail")(x)
    x = tf.keras.layers.Lambda(lambda t: t * 127.5 + RGB_MEAN, name="denormalize")(x)
    return tf.keras.Model(x_in, x, name=f"edsr_tf_x{scale}")


def leaky(t: tf.Tensor) -> tf.Tensor:
    return tf.nn.relu(t) - 0.2 * tf.nn.relu(-t)


def lapsrn(scale: int, filters: int = 8, depth: int = 2) -> tf.keras.Model:
    tf.keras.utils.set_random_seed(20 + scale)
    x_in = tf.keras.Input(shape=(None, None, 1), name="lr")
    img = tf.keras.layers.Rescaling(1 / 255, name="to_unit")(x_in)
    f = tf.keras.layers.Lambda(leaky, name="in_act")(tf.keras.layers.Conv2D(filters, 3, padding="same", name="in")(img))
    for level in range(int(np.log2(scale))):
        for d in range(depth):
            conv = tf.keras.layers.Conv2D(filters, 3, padding="same", name=f"l{level}_conv{d}")
            f = tf.keras.layers.Lambda(leaky, name=f"l{level}_act{d}")(conv(f))
        up = tf.keras.layers.Conv2DTranspose(filters, 4, strides=2, padding="same", name=f"l{level}_up_feat")
        f = tf.keras.layers.Lambda(leaky, name=f"l{level}_act_up")(up(f))
        res = tf.keras.layers.Conv2D(1, 3, padding="same", name=f"l{level}_residual")(f)
        img = tf.keras.layers.Conv2DTranspose(1, 4, strides=2, padding="same", name=f"l{level}_up_img")(img)
        img = tf.keras.layers.Add(name=f"l{level}_add")([img, res])
    y = tf.keras.layers.Rescaling(255.0, name="to_pixels")(img)
    model = tf.keras.Model(x_in, y, name=f"lapsrn_tf_x{scale}")
    bilinear = np.outer([0.25, 0.75, 0.75, 0.25], [0.25, 0.75, 0.75, 0.25])[:, :, None, None]
    for layer in model.layers:  # the image branch starts as bilinear upsampling, the residuals small
        if layer.name.endswith("_up_img"):
            layer.set_weights([bilinear, np.zeros(1)])
        elif layer.name.endswith("_residual"):
            w, b = layer.get_weights()
            layer.set_weights([w * 0.1, b])
    return model


def main() -> None:
    models = [(f"edsr_tf_x{s}", edsr(s), 3) for s in (2, 3, 4)] + [(f"lapsrn_tf_x{s}", lapsrn(s), 1) for s in (2, 4, 8)]
    for name, model, channels in models:
        spec = (tf.TensorSpec((1, None, None, channels), tf.float32, name="lr"),)
        path = HERE / f"{name}.onnx"
        tf2onnx.convert.from_keras(model, input_signature=spec, opset=13, output_path=str(path))
        frame = np.random.default_rng(0).uniform(0, 255, (1, 9, 7, channels)).astype(np.float32)
        y = model(frame).numpy()
        print(path.name, y.shape, f"output {y.min():.1f}..{y.max():.1f}")


if __name__ == "__main__":
    main()
