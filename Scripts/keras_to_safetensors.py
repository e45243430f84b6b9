#!/usr/bin/env python3
"""Write a Keras model's weights as safetensors for Recurrent (`rnn import --keras`,
`Sequential.loadKeras(from:)`, `loadKerasWeights(from:)`).

    python Scripts/keras_to_safetensors.py model.keras keras.safetensors

Tensors are named `<layer name>/<variable path inside the layer>` (`lstm/lstm_cell/kernel`,
`bidirectional/forward_gru/gru_cell/bias`, `dense/kernel`; Keras's own `variable.path` is not used
as is because it depends on how the model was made: a model loaded from a .keras file drops the
model prefix and even the Bidirectional layer's name) and keep Keras's layout (kernel [I, G*H], GRU gates z|r|h, ...): Recurrent converts them on load
(docs/interop.md). `__metadata__` holds

    format        "keras-weights"
    keras_layers  JSON: [{"name", "class", "config": layer.get_config(), "weights": [names]}, ...]
                  in model order (every layer, with or without weights)
    input_shape   JSON: the model's input shape without the batch axis, e.g. [null, 8]
    keras_version the Keras version that wrote it

Needs keras (3.x), numpy and safetensors. Usable as a module: `export(model, path)`.
"""
import argparse
import json

import numpy as np
from safetensors.numpy import save_file


def tensor_name(layer_name, path):
    """`<layer name>/<path inside the layer>`: the path from the layer's own component on,
    or the layer name prepended when the path lacks it."""
    parts = path.split("/")
    return "/".join(parts[parts.index(layer_name):] if layer_name in parts else [layer_name] + parts)


def export(model, path, dtype=np.float32):
    """Writes `model`'s weights and layer list to `path` (see the module docstring)."""
    import keras

    tensors, layers = {}, []
    for layer in model.layers:
        paths = []
        for w in layer.weights:
            name = tensor_name(layer.name, w.path)
            if name in tensors:
                raise ValueError(f"weight {name} appears twice (shared weights are not supported)")
            tensors[name] = np.ascontiguousarray(np.asarray(w.numpy(), dtype=dtype))
            paths.append(name)
        layers.append({"name": layer.name, "class": type(layer).__name__, "config": layer.get_config(), "weights": paths})
    input_shape = list(model.input_shape[1:]) if model.inputs else None
    metadata = {
        "format": "keras-weights",
        "keras_layers": json.dumps(layers, default=str),
        "keras_version": keras.__version__,
    }
    if input_shape is not None:
        metadata["input_shape"] = json.dumps(input_shape)
    save_file(tensors, path, metadata=metadata)
    return tensors


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a saved Keras model (.keras or .h5)")
    parser.add_argument("output", help="the .safetensors file to write")
    parser.add_argument("--float64", action="store_true", help="store F64 instead of F32")
    args = parser.parse_args()
    import keras

    model = keras.models.load_model(args.model, compile=False)
    tensors = export(model, args.output, np.float64 if args.float64 else np.float32)
    print(f"wrote {args.output}: {len(tensors)} tensors from {len(model.layers)} layers")


if __name__ == "__main__":
    main()
