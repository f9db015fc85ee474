"""Converts the BiSeNet face parser (face-parsing.PyTorch's 79999_iter.pth, trained on CelebAMask-HQ,
MIT) to ONNX with numpy and onnx only: no torch.

    python bisenet_to_onnx.py 79999_iter.pth face_parsing.onnx

The checkpoint is in torch's legacy (pre-1.6, not zip) format: a pickle of the state dict followed by
the raw storages, read here with a restricted unpickler that builds nothing but arrays. The network
(ResNet-18 context path, attention refinement, feature fusion) is rebuilt node by node with batch
normalisation folded into the convolutions.

Input `input`: 1×3×256×256 RGB, (x/255 − mean)/std with ImageNet's mean and std, a face crop aligned
as in CelebA-HQ. Output `logits`: 1×19×32×32 (one eighth of the input; upsampling is left to the
caller, who needs only a few of the classes): 0 background, 1 skin, 2/3 brows, 4/5 eyes,
6 eyeglasses, 7/8 ears, 9 earring, 10 nose, 11 mouth, 12/13 lips, 14 neck, 15 necklace, 16 cloth,
17 hair, 18 hat. The training-only auxiliary heads are left out.
"""
import collections
import pickle
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SIDE = 256
STORAGE_TYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ByteStorage": np.uint8,
}


class _Storage:
    def __init__(self, name):
        self.name = name


def _tensor(storage, offset, size, stride, *_):
    return (storage, offset, tuple(size), tuple(stride))


class _Unpickler(pickle.Unpickler):
    """Builds tensors as (storage key, offset, size, stride) and refuses every other class."""

    def __init__(self, f, storages):
        super().__init__(f)
        self.storages = storages

    def find_class(self, module, name):
        if module == "torch._utils" and name in ("_rebuild_tensor", "_rebuild_tensor_v2"):
            return _tensor
        if module == "torch" and name in STORAGE_TYPES:
            return _Storage(name)
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"refusing {module}.{name}")

    def persistent_load(self, pid):
        _, storage_type, key = pid[:3]
        self.storages.setdefault(key, [storage_type.name, None])
        return key


def load_state_dict(path):
    with open(path, "rb") as f:
        for _ in range(3):  # magic number, protocol version, system info
            pickle.load(f)
        storages = {}
        tensors = _Unpickler(f, storages).load()
        for key in pickle.load(f):
            (count,) = struct.unpack("<q", f.read(8))
            dtype = np.dtype(STORAGE_TYPES[storages[key][0]])
            storages[key][1] = np.frombuffer(f.read(count * dtype.itemsize), dtype=dtype)
    out = collections.OrderedDict()
    for name, (key, offset, size, stride) in tensors.items():
        buf = storages[key][1]
        strides = [s * buf.itemsize for s in stride]
        out[name] = np.lib.stride_tricks.as_strided(buf[offset:], shape=size, strides=strides).copy()
    return out


def build(sd, side=SIDE, eps=1e-5):
    nodes, inits = [], []
    counter = [0]

    def name(prefix):
        counter[0] += 1
        return f"{prefix}_{counter[0]}"

    def const(key, arr):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), key))
        return key

    def op(kind, inputs, **attrs):
        y = name(kind.lower())
        nodes.append(helper.make_node(kind, inputs, [y], **attrs))
        return y

    def conv(x, weight, bn=None, stride=1, pad=None, relu=False):
        w = sd[weight].astype(np.float64)
        inputs = [x]
        if bn is not None:
            scale = sd[bn + ".weight"] / np.sqrt(sd[bn + ".running_var"] + eps)
            bias = sd[bn + ".bias"] - sd[bn + ".running_mean"] * scale
            w = w * scale[:, None, None, None]
        inputs.append(const(weight + ".W", w.astype(np.float32)))
        if bn is not None:
            inputs.append(const(weight + ".B", bias.astype(np.float32)))
        k = w.shape[2]
        pad = k // 2 if pad is None else pad
        y = op("Conv", inputs, kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4)
        return op("Relu", [y]) if relu else y

    def conv_bn_relu(x, prefix, stride=1, pad=None):
        return conv(x, prefix + ".conv.weight", prefix + ".bn", stride, pad, relu=True)

    def basic_block(x, prefix, stride):
        r = conv(x, prefix + ".conv1.weight", prefix + ".bn1", stride, relu=True)
        r = conv(r, prefix + ".conv2.weight", prefix + ".bn2")
        shortcut = x
        if prefix + ".downsample.0.weight" in sd:
            shortcut = conv(x, prefix + ".downsample.0.weight", prefix + ".downsample.1", stride, 0)
        return op("Relu", [op("Add", [shortcut, r])])

    def upsample2(x):
        scales = const(name("scales"), np.array([1, 1, 2, 2], np.float32))
        return op("Resize", [x, "", scales], mode="nearest",
                  coordinate_transformation_mode="asymmetric", nearest_mode="floor")

    def attention_refinement(x, prefix):
        f = conv_bn_relu(x, prefix + ".conv")
        a = conv(op("GlobalAveragePool", [f]), prefix + ".conv_atten.weight", prefix + ".bn_atten", pad=0)
        return op("Mul", [f, op("Sigmoid", [a])])

    r = "cp.resnet"
    x = conv("input", r + ".conv1.weight", r + ".bn1", 2, 3, relu=True)
    x = op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    for layer, stride in ((1, 1), (2, 2), (3, 2), (4, 2)):
        x = basic_block(x, f"{r}.layer{layer}.0", stride)
        x = basic_block(x, f"{r}.layer{layer}.1", 1)
        if layer == 2:
            feat8 = x
        if layer == 3:
            feat16 = x
    feat32 = x
    # The global context is 1×1: its nearest upsampling is a broadcast in the Add.
    context = conv_bn_relu(op("GlobalAveragePool", [feat32]), "cp.conv_avg", pad=0)
    f32 = op("Add", [attention_refinement(feat32, "cp.arm32"), context])
    f32_up = conv_bn_relu(upsample2(f32), "cp.conv_head32")
    f16 = op("Add", [attention_refinement(feat16, "cp.arm16"), f32_up])
    f16_up = conv_bn_relu(upsample2(f16), "cp.conv_head16")
    # Feature fusion.
    feat = conv_bn_relu(op("Concat", [feat8, f16_up], axis=1), "ffm.convblk", pad=0)
    a = conv(op("GlobalAveragePool", [feat]), "ffm.conv1.weight", pad=0, relu=True)
    a = op("Sigmoid", [conv(a, "ffm.conv2.weight", pad=0)])
    fused = op("Add", [op("Mul", [feat, a]), feat])
    out = conv_bn_relu(fused, "conv_out.conv")
    out = conv(out, "conv_out.conv_out.weight", pad=0)
    nodes.append(helper.make_node("Identity", [out], ["logits"]))
    graph = helper.make_graph(
        nodes, "bisenet_face_parsing",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, side, side])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 19, side // 8, side // 8])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="faceswap bisenet_to_onnx.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


if __name__ == "__main__":
    onnx.save(build(load_state_dict(sys.argv[1])), sys.argv[2])
