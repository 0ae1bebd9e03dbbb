"""ESPCN as TensorFlow writes it, exported by tf2onnx: the files beside this script.

    pip install tensorflow-cpu==2.21.0 tf2onnx==1.17.0 onnx==1.22.0   # a separate environment
    python tests/data/tf2onnx/make_espcn.py

Keras, NHWC, `padding="same"` (tf2onnx writes auto_pad SAME_UPPER or explicit pads), the input
scaled to [0, 1] inside the model (Rescaling), then 5x5/64 tanh, 3x3/32 tanh, 3x3/r^2, then
`tf.nn.depth_to_space`, the tanh *after* it and the x255 output scale: the shape of the TF ESPCN
repositories (and OpenCV's dnn_superres ESPCN), which put the activation after the pixel shuffle.
The weights are Keras's initialisation under a fixed seed, with the last bias raised so the
output spans the pixel range; what is tested is the graph, not the picture.
"""
from pathlib import Path

import numpy as np
import tensorflow as tf
import tf2onnx

HERE = Path(__file__).resolve().parent


def espcn(scale: int) -> tf.keras.Model:
    tf.keras.utils.set_random_seed(scale)
    x = tf.keras.Input(shape=(None, None, 1), name="lr")
    y = tf.keras.layers.Rescaling(1 / 255, name="to_unit")(x)
    y = tf.keras.layers.Conv2D(64, 5, padding="same", activation="tanh", name="conv1")(y)
    y = tf.keras.layers.Conv2D(32, 3, padding="same", activation="tanh", name="conv2")(y)
    last = tf.keras.layers.Conv2D(scale * scale, 3, padding="same", name="conv3")
    y = last(y)
    y = tf.keras.layers.Lambda(lambda t: tf.nn.depth_to_space(t, scale), name="depth_to_space")(y)
    y = tf.keras.layers.Activation("tanh", name="tanh_out")(y)
    y = tf.keras.layers.Rescaling(255.0, name="to_pixels")(y)
    model = tf.keras.Model(x, y, name=f"espcn_tf_x{scale}")
    w, b = last.get_weights()
    last.set_weights([w, b + 0.5])
    return model


def main() -> None:
    for scale in (2, 3, 4):
        model = espcn(scale)
        spec = (tf.TensorSpec((1, None, None, 1), tf.float32, name="lr"),)
        path = HERE / f"espcn_tf_x{scale}.onnx"
        tf2onnx.convert.from_keras(model, input_signature=spec, opset=13, output_path=str(path))
        frame = np.random.default_rng(0).uniform(0, 255, (1, 9, 7, 1)).astype(np.float32)
        print(path.name, model(frame).numpy().shape)


if __name__ == "__main__":
    main()
