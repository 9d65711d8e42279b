#!/usr/bin/python3
"""Export small torchvision-style CNNs to ONNX as test fixtures for cnnlens.

Usage (Debian packages python3-torch python3-onnx python3-numpy; use /usr/bin/python3):

    /usr/bin/python3 tools/export_onnx_fixtures.py            # small fixtures -> packages/core/testdata/onnx/
    /usr/bin/python3 tools/export_onnx_fixtures.py --big      # + full-size ResNet-50 -> tools/.big/resnet50.onnx
    /usr/bin/python3 tools/export_onnx_fixtures.py --resnet18 # + full-size ResNet-18 -> tools/.big/resnet18.onnx
    /usr/bin/python3 tools/export_onnx_fixtures.py --only-big --big   # skip the small fixtures

Every model is defined in this file (no torchvision dependency).  Weights are random
(fixed seed); BatchNorm running statistics and affine parameters are randomised so BN
is not an identity.  Each small model is exported four times:

    <model>_fused_op<11|17>.onnx  training=EVAL, do_constant_folding=True (BN folded into Conv)
    <model>_kept_op<11|17>.onnx   training=PRESERVE, do_constant_folding=False (BatchNormalization kept)

plus <model>_input.npy (float32), <model>_output.npy (PyTorch eval output), and
<model>_nodes.json (intermediate tensors: their ONNX names in every exported file and
PyTorch reference values at a few flat indices, from forward hooks).

manifest.json summarises every .onnx file (op histogram, node/initializer/parameter
counts, input/output shapes) so the TypeScript parser tests can check themselves against
the python onnx package.  A hand-made model (handmade_typed.onnx: typed tensor fields,
float16, empty node names, Constant with a TENSOR attribute) and an external-data model
(external/conv4_leaky_ext.onnx + conv4_leaky_ext.onnx.data) are written as well.
"""

import argparse
import inspect
import json
import os
import re
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "packages", "core", "testdata", "onnx")
BIG_DIR = os.path.join(ROOT, "tools", ".big")
SEED = 1234
OPSETS = (11, 17)


# --------------------------------------------------------------------------------------
# Model definitions (torchvision-style, written from scratch, deliberately narrow)
# --------------------------------------------------------------------------------------


def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


def conv1x1(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride=1, attention=None):
        super().__init__()
        self.conv1 = conv3x3(cin, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        # Optional attention module applied to the residual branch (SE / CBAM).
        self.attention = attention
        self.downsample = None
        if stride != 1 or cin != planes:
            self.downsample = nn.Sequential(conv1x1(cin, planes, stride), nn.BatchNorm2d(planes))
        self.relu2 = nn.ReLU(inplace=True)

    def forward(self, x):
        identity = x
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.attention is not None:
            out = self.attention(out)
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu2(out + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride=1):
        super().__init__()
        width = planes
        cout = planes * self.expansion
        self.conv1 = conv1x1(cin, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(width, width, stride)  # torchvision v1.5: stride on the 3x3
        self.bn2 = nn.BatchNorm2d(width)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv3 = conv1x1(width, cout)
        self.bn3 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(conv1x1(cin, cout, stride), nn.BatchNorm2d(cout))
        self.relu3 = nn.ReLU(inplace=True)

    def forward(self, x):
        identity = x
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu3(out + identity)


class ResNet(nn.Module):
    """torchvision-style ResNet; `widths` are the planes of layer1..layerN."""

    def __init__(self, block, layers, widths, stem=64, num_classes=10, imagenet_stem=True):
        super().__init__()
        self.inplanes = stem
        if imagenet_stem:
            self.conv1 = nn.Conv2d(3, stem, 7, stride=2, padding=3, bias=False)
        else:
            self.conv1 = nn.Conv2d(3, stem, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        for i, (n, w) in enumerate(zip(layers, widths)):
            setattr(self, f"layer{i + 1}", self._make_layer(block, w, n, stride=1 if i == 0 else 2))
        self.num_layers = len(layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(widths[-1] * block.expansion, num_classes)

    def _make_layer(self, block, planes, n, stride):
        blocks = [block(self.inplanes, planes, stride)]
        self.inplanes = planes * block.expansion
        for _ in range(1, n):
            blocks.append(block(self.inplanes, planes))
        return nn.Sequential(*blocks)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(self.num_layers):
            x = getattr(self, f"layer{i + 1}")(x)
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


class VGG(nn.Module):
    def __init__(self, cfg, hidden=64, num_classes=10, spatial=4):
        super().__init__()
        layers = []
        cin = 3
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(cin, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
                cin = v
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Linear(cin * spatial * spatial, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def make_divisible(v, divisor=8, min_value=None):
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class ConvBNReLU6(nn.Sequential):
    def __init__(self, cin, cout, kernel=3, stride=1, groups=1):
        super().__init__(
            nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU6(inplace=True),
        )


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand_ratio):
        super().__init__()
        hidden = int(round(cin * expand_ratio))
        self.use_res_connect = stride == 1 and cin == cout
        layers = []
        if expand_ratio != 1:
            layers.append(ConvBNReLU6(cin, hidden, kernel=1))
        layers += [
            ConvBNReLU6(hidden, hidden, stride=stride, groups=hidden),  # depthwise
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, width_mult=0.25, num_classes=10, last_channel=128, settings=None):
        super().__init__()
        settings = settings or [
            # t, c, n, s
            [1, 16, 1, 1],
            [6, 24, 2, 2],
            [6, 32, 2, 2],
            [6, 64, 1, 2],
        ]
        cin = make_divisible(32 * width_mult)
        features = [ConvBNReLU6(3, cin, stride=2)]
        for t, c, n, s in settings:
            cout = make_divisible(c * width_mult)
            for i in range(n):
                features.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
        features.append(ConvBNReLU6(cin, last_channel, kernel=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last_channel, num_classes))

    def forward(self, x):
        x = self.features(x)
        x = F.adaptive_avg_pool2d(x, (1, 1))
        x = torch.flatten(x, 1)
        return self.classifier(x)


class ChannelAttention(nn.Module):
    def __init__(self, c, reduction=4):
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Conv2d(c, c // reduction, 1, bias=False),
            nn.ReLU(inplace=True),
            nn.Conv2d(c // reduction, c, 1, bias=False),
        )
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        avg = self.mlp(x.mean(dim=(2, 3), keepdim=True))  # ReduceMean
        mx = self.mlp(x.amax(dim=(2, 3), keepdim=True))  # ReduceMax
        return x * self.sigmoid(avg + mx)


class SpatialAttention(nn.Module):
    def __init__(self, kernel=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel, padding=kernel // 2, bias=False)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        avg = x.mean(dim=1, keepdim=True)
        mx = x.amax(dim=1, keepdim=True)
        return x * self.sigmoid(self.conv(torch.cat([avg, mx], dim=1)))


class CBAM(nn.Module):
    def __init__(self, c, reduction=4):
        super().__init__()
        self.ca = ChannelAttention(c, reduction)
        self.sa = SpatialAttention()

    def forward(self, x):
        return self.sa(self.ca(x))


class SqueezeExcite(nn.Module):
    """Hu et al. SE with Linear layers (exports Shape/Gather/Reshape from .view(b, c, 1, 1))."""

    def __init__(self, c, reduction=4):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Linear(c, c // reduction)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Linear(c // reduction, c)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        b, c = x.shape[0], x.shape[1]
        s = self.avgpool(x).view(b, c)
        s = self.sigmoid(self.fc2(self.relu(self.fc1(s))))
        return x * s.view(b, c, 1, 1)


class AttentionResNet(nn.Module):
    """Small CIFAR-style stem + two BasicBlocks with an attention module on each branch."""

    def __init__(self, kind, c1=16, c2=32, num_classes=10):
        super().__init__()
        make = (lambda c: CBAM(c)) if kind == "cbam" else (lambda c: SqueezeExcite(c))
        self.conv1 = conv3x3(3, c1)
        self.bn1 = nn.BatchNorm2d(c1)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = nn.Sequential(BasicBlock(c1, c1, 1, attention=make(c1)))
        self.layer2 = nn.Sequential(BasicBlock(c1, c2, 2, attention=make(c2)))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c2, num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class Conv4Leaky(nn.Module):
    def __init__(self, c=16, num_classes=10, size=32):
        super().__init__()
        blocks = []
        cin = 3
        for _ in range(4):
            blocks.append(
                nn.Sequential(
                    nn.Conv2d(cin, c, 3, padding=1),
                    nn.BatchNorm2d(c),
                    nn.LeakyReLU(0.1, inplace=True),
                    nn.MaxPool2d(2),
                )
            )
            cin = c
        self.features = nn.Sequential(*blocks)
        self.fc = nn.Linear(c * (size // 16) ** 2, num_classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.features(x), 1))


# name -> (constructor, input size, intermediate modules to record)
SMALL_MODELS = {
    "resnet_basic": (
        lambda: ResNet(BasicBlock, [1, 1, 1], [8, 16, 32], stem=8, imagenet_stem=False),
        32,
        [("relu", "Relu"), ("layer1.0.relu2", "Relu"), ("layer2.0.relu2", "Relu"), ("layer3.0.relu2", "Relu")],
    ),
    "resnet_bottleneck": (
        lambda: ResNet(Bottleneck, [1, 2], [8, 16], stem=16, imagenet_stem=False),
        32,
        [("layer1.0.relu3", "Relu"), ("layer2.0.relu2", "Relu"), ("layer2.1.relu3", "Relu")],
    ),
    "vgg_bn": (
        lambda: VGG([8, "M", 16, "M", 32, 32, "M"], hidden=32, spatial=4),
        32,
        [("features.2", "Relu"), ("features.6", "Relu"), ("features.13", "Relu"), ("classifier.1", "Relu")],
    ),
    "mobilenetv2_025": (
        lambda: MobileNetV2(width_mult=0.25),
        64,
        [("features.0.2", "Clip"), ("features.2.conv.1.2", "Clip"), ("features.6.conv.0.2", "Clip")],
    ),
    "cbam_block": (
        lambda: AttentionResNet("cbam"),
        32,
        [("layer1.0.attention.ca.sigmoid", "Sigmoid"), ("layer1.0.attention.sa.sigmoid", "Sigmoid"),
         ("layer2.0.relu2", "Relu")],
    ),
    "se_block": (
        lambda: AttentionResNet("se"),
        32,
        [("layer1.0.attention.sigmoid", "Sigmoid"), ("layer1.0.relu2", "Relu"), ("layer2.0.relu2", "Relu")],
    ),
    "conv4_leaky": (
        lambda: Conv4Leaky(16),
        32,
        [("features.0.2", "LeakyRelu"), ("features.2.2", "LeakyRelu"), ("features.3.3", "MaxPool")],
    ),
}


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def randomise_bn(model, gen):
    """Give every BatchNorm non-trivial running stats and affine parameters."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.2)
                m.running_var.copy_(torch.rand(c, generator=gen) * 1.0 + 0.5)
                m.weight.copy_(torch.rand(c, generator=gen) * 1.0 + 0.5)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.2)


def build(name):
    ctor, size, _ = SMALL_MODELS[name]
    torch.manual_seed(SEED)
    model = ctor()
    gen = torch.Generator().manual_seed(SEED + 1)
    randomise_bn(model, gen)
    model.eval()
    return model, size


def onnx_scope_name(qualified):
    """ONNX node-name scope that torch 1.13+'s TorchScript exporter gives a submodule.

    A child registered under a numeric name (Sequential index) is written as
    `<parent component>.<index>`; any other child by its attribute name:
    layer1.0.relu2 -> /layer1/layer1.0/relu2, features.0.0 -> /features/features.0/features.0.0
    """
    parts = qualified.split(".")
    comps = []
    for p in parts:
        if p.isdigit() and comps:
            comps.append(comps[-1] + "." + p)
        else:
            comps.append(p)
    return "/" + "/".join(comps)


def export(model, x, path, opset, fused):
    kwargs = dict(
        opset_version=opset,
        input_names=["input"],
        output_names=["output"],
        export_params=True,
    )
    if fused:
        kwargs.update(training=torch.onnx.TrainingMode.EVAL, do_constant_folding=True)
    else:
        kwargs.update(training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False  # legacy TorchScript exporter
    torch.onnx.export(model, (x,), path, **kwargs)
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return m


def value_info_shape(vi):
    out = []
    for d in vi.type.tensor_type.shape.dim:
        if d.HasField("dim_value"):
            out.append(d.dim_value)
        elif d.HasField("dim_param"):
            out.append(d.dim_param)
        else:
            out.append(None)
    return out


def describe(m, file_name, size_bytes):
    hist = {}
    for n in m.graph.node:
        hist[n.op_type] = hist.get(n.op_type, 0) + 1
    inits = {}
    params = 0
    for t in m.graph.initializer:
        inits[t.name] = list(t.dims)
        params += int(np.prod(t.dims)) if len(t.dims) else 1
    opset = max(o.version for o in m.opset_import if o.domain in ("", "ai.onnx"))
    return {
        "file": file_name,
        "bytes": size_bytes,
        "irVersion": m.ir_version,
        "opset": opset,
        "producer": m.producer_name,
        "graphName": m.graph.name,
        "nodeCount": len(m.graph.node),
        "opHistogram": dict(sorted(hist.items())),
        "initializerCount": len(m.graph.initializer),
        "parameterCount": params,
        "initializerDims": inits,
        "inputs": [{"name": i.name, "shape": value_info_shape(i)} for i in m.graph.input if i.name not in inits],
        "outputs": [{"name": o.name, "shape": value_info_shape(o)} for o in m.graph.output],
    }


def dump_json(obj, path):
    """Indented JSON with arrays of scalars kept on one line (smaller, diff-friendly)."""
    text = json.dumps(obj, indent=1)
    text = re.sub(r"\[\s*([^\[\]{}]*?)\s*\]",
                  lambda m: "[" + re.sub(r"\s*\n\s*", " ", m.group(1)) + "]", text)
    with open(path, "w") as fh:
        fh.write(text + "\n")


def kb(n):
    return f"{n / 1024:.1f} KiB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MiB"


def sample_indices(n, k=16):
    return sorted(set(int(i) for i in np.linspace(0, n - 1, k)))


# --------------------------------------------------------------------------------------
# Small fixtures
# --------------------------------------------------------------------------------------


def export_small(manifest):
    for name, (_, _, probes) in SMALL_MODELS.items():
        model, size = build(name)
        rng = np.random.default_rng(SEED)
        x_np = rng.standard_normal((1, 3, size, size)).astype(np.float32)
        x = torch.from_numpy(x_np)

        # Reference output + intermediate activations via forward hooks.
        modules = dict(model.named_modules())
        captured = {}
        hooks = []
        for qn, _op in probes:
            def hook(_m, _inp, out, qn=qn):
                captured[qn] = out.detach().clone().numpy()

            hooks.append(modules[qn].register_forward_hook(hook))
        with torch.no_grad():
            y = model(x).numpy()
        for h in hooks:
            h.remove()
        np.save(os.path.join(OUT_DIR, f"{name}_input.npy"), x_np)
        np.save(os.path.join(OUT_DIR, f"{name}_output.npy"), y.astype(np.float32))
        for f in (f"{name}_input.npy", f"{name}_output.npy"):
            print(f"  {f:40s} {kb(os.path.getsize(os.path.join(OUT_DIR, f)))}")

        node_entries = []
        for qn, op in probes:
            a = captured[qn].astype(np.float32)
            flat = a.reshape(-1)
            idx = sample_indices(flat.size)
            node_entries.append({
                "module": qn,
                "opType": op,
                "shape": list(a.shape),
                "sum": float(flat.astype(np.float64).sum()),
                "absMax": float(np.abs(flat).max()),
                "sampleIndices": idx,
                "sampleValues": [float(flat[i]) for i in idx],
                "tensorNames": {},
            })

        for opset in OPSETS:
            for fused in (True, False):
                fname = f"{name}_{'fused' if fused else 'kept'}_op{opset}.onnx"
                path = os.path.join(OUT_DIR, fname)
                m = export(model, x, path, opset, fused)
                sz = os.path.getsize(path)
                assert sz < 3 * 1024 * 1024, (fname, sz)
                manifest["files"][fname] = dict(describe(m, fname, sz), model=name,
                                                variant="fused" if fused else "kept")
                print(f"  {fname:40s} {kb(sz)}")
                bn = manifest["files"][fname]["opHistogram"].get("BatchNormalization", 0)
                assert (bn == 0) == fused, (fname, "BatchNormalization count", bn)
                for e in node_entries:
                    node_name = f"{onnx_scope_name(e['module'])}/{e['opType']}"
                    hits = [n for n in m.graph.node if n.name == node_name]
                    if len(hits) != 1:
                        sys.exit(f"{fname}: no unique node {node_name!r} for module {e['module']}")
                    e["tensorNames"][fname] = hits[0].output[0]
        dump_json({"model": name, "input": f"{name}_input.npy", "output": f"{name}_output.npy",
                   "nodes": node_entries}, os.path.join(OUT_DIR, f"{name}_nodes.json"))


def export_external(manifest):
    """conv4_leaky (BN kept, opset 17) saved with its larger tensors in a side file."""
    ext_dir = os.path.join(OUT_DIR, "external")
    os.makedirs(ext_dir, exist_ok=True)
    m = onnx.load(os.path.join(OUT_DIR, "conv4_leaky_kept_op17.onnx"))
    fname = "conv4_leaky_ext.onnx"
    data_name = fname + ".data"
    for f in (fname, data_name):
        if os.path.exists(os.path.join(ext_dir, f)):
            os.remove(os.path.join(ext_dir, f))
    # size_threshold=256: the conv/fc weights go to the side file, BN vectors stay inline.
    onnx.save_model(m, os.path.join(ext_dir, fname), save_as_external_data=True,
                    all_tensors_to_one_file=True, location=data_name, size_threshold=256)
    m2 = onnx.load(os.path.join(ext_dir, fname), load_external_data=False)
    external = [t.name for t in m2.graph.initializer if t.data_location == TensorProto.EXTERNAL]
    assert external and len(external) < len(m2.graph.initializer)
    sz = os.path.getsize(os.path.join(ext_dir, fname))
    entry = describe(m, "external/" + fname, sz)
    entry.update(model="conv4_leaky", variant="kept", dataFile="external/" + data_name,
                 externalInitializers=external,
                 sameAs="conv4_leaky_kept_op17.onnx")
    manifest["files"]["external/" + fname] = entry
    print(f"  {'external/' + fname:40s} {kb(sz)}")
    print(f"  {'external/' + data_name:40s} {kb(os.path.getsize(os.path.join(ext_dir, data_name)))}")


def export_handmade(manifest):
    """Hand-built graph covering the encodings torch never emits: typed (non-raw) fields,
    float16 (raw and int32_data), int32/uint8/bool/double, empty node names, a Constant with a
    TENSOR attribute, INTS with negative values, FLOAT/STRING attributes."""
    w16 = np.array([[0.5, -1.25, 2.0], [65504.0, -0.0, 0.000061035156]], dtype=np.float16)
    w16_typed = np.array([1.5, -2.0, 0.25], dtype=np.float16)
    inits = [
        numpy_helper.from_array(w16, "w_f16_raw"),  # raw_data
        # make_tensor stores FLOAT16 values as their bit patterns in int32_data
        helper.make_tensor("w_f16_typed", TensorProto.FLOAT16, [3], w16_typed.tolist(), raw=False),
        helper.make_tensor("bias_f32_typed", TensorProto.FLOAT, [3], [0.1, -0.2, 0.3], raw=False),
        helper.make_tensor("shape_i64_typed", TensorProto.INT64, [2], [1, -1], raw=False),
        numpy_helper.from_array(np.array([3, -7, 2**40], dtype=np.int64), "i64_raw"),
        helper.make_tensor("i32_typed", TensorProto.INT32, [2], [-5, 7], raw=False),
        helper.make_tensor("u8_typed", TensorProto.UINT8, [3], [0, 128, 255], raw=False),
        helper.make_tensor("bool_typed", TensorProto.BOOL, [2], [True, False], raw=False),
        helper.make_tensor("f64_typed", TensorProto.DOUBLE, [2], [1.0 / 3.0, -2.5], raw=False),
        numpy_helper.from_array(np.array(4.0, dtype=np.float32), "scalar_raw"),
    ]
    const_val = helper.make_tensor("const_val", TensorProto.FLOAT, [1, 3], [1.0, 2.0, 3.0], raw=False)
    nodes = [
        helper.make_node("Cast", ["w_f16_raw"], ["w32"], to=TensorProto.FLOAT),  # empty name
        helper.make_node("Constant", [], ["c"], value=const_val),  # empty name, TENSOR attr
        helper.make_node("MatMul", ["x", "w32"], ["mm"], name="matmul"),  # x:[1,2] @ [2,3]
        helper.make_node("Add", ["mm", "c"], ["a"]),
        helper.make_node("LeakyRelu", ["a"], ["lr"], alpha=0.2),
        helper.make_node("Reshape", ["lr", "shape_i64_typed"], ["r"]),
        helper.make_node("Transpose", ["r"], ["t"], perm=[1, 0]),
        helper.make_node("ReduceSum", ["t"], ["s"], axes=[-1, 0], keepdims=0),
        helper.make_node("Pad", ["r", "pads"], ["p"], mode="reflect"),
        helper.make_node("Mul", ["s", "scalar_raw"], ["y"], name="final"),
    ]
    inits.append(helper.make_tensor("pads", TensorProto.INT64, [4], [0, 1, 0, 1], raw=False))
    graph = helper.make_graph(
        nodes, "handmade",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, []),
         helper.make_tensor_value_info("p", TensorProto.FLOAT, [1, None])],
        initializer=inits,
    )
    m = helper.make_model(graph, producer_name="cnnlens-handmade", opset_imports=[helper.make_opsetid("", 11)])
    m.ir_version = 7
    onnx.checker.check_model(m)
    fname = "handmade_typed.onnx"
    path = os.path.join(OUT_DIR, fname)
    onnx.save(m, path)
    sz = os.path.getsize(path)
    entry = describe(m, fname, sz)
    values = {}
    for t in inits:
        a = numpy_helper.to_array(t)
        if a.dtype == np.float16:
            a = a.astype(np.float32)
        if a.dtype == np.int64:
            values[t.name] = [str(v) for v in a.reshape(-1).tolist()]  # exact (2**40)
        elif a.dtype == np.bool_:
            values[t.name] = [int(v) for v in a.reshape(-1).tolist()]
        else:
            values[t.name] = [float(v) for v in a.reshape(-1).tolist()]
    entry.update(model="handmade", variant="handmade", initializerValues=values,
                 dataTypes={t.name: TensorProto.DataType.Name(t.data_type) for t in inits},
                 nodeNames=[n.name for n in m.graph.node], nodeOpTypes=[n.op_type for n in m.graph.node])
    manifest["files"][fname] = entry
    print(f"  {fname:40s} {kb(sz)}")


# --------------------------------------------------------------------------------------
# Big benchmark models (not committed)
# --------------------------------------------------------------------------------------


def export_big(name):
    os.makedirs(BIG_DIR, exist_ok=True)
    torch.manual_seed(SEED)
    if name == "resnet50":
        model = ResNet(Bottleneck, [3, 4, 6, 3], [64, 128, 256, 512], stem=64, num_classes=1000)
    else:
        model = ResNet(BasicBlock, [2, 2, 2, 2], [64, 128, 256, 512], stem=64, num_classes=1000)
    randomise_bn(model, torch.Generator().manual_seed(SEED + 1))
    model.eval()
    rng = np.random.default_rng(SEED)
    x_np = rng.standard_normal((1, 3, 224, 224)).astype(np.float32)
    x = torch.from_numpy(x_np)
    with torch.no_grad():
        y = model(x).numpy()
    path = os.path.join(BIG_DIR, f"{name}.onnx")
    export(model, x, path, 17, fused=True)
    np.save(os.path.join(BIG_DIR, f"{name}_input.npy"), x_np)
    np.save(os.path.join(BIG_DIR, f"{name}_output.npy"), y.astype(np.float32))
    print(f"  {os.path.relpath(path, ROOT):40s} {kb(os.path.getsize(path))}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--big", action="store_true", help="also export full-size ResNet-50 to tools/.big/")
    ap.add_argument("--resnet18", action="store_true", help="also export full-size ResNet-18 to tools/.big/")
    ap.add_argument("--only-big", action="store_true", help="skip the small fixtures")
    args = ap.parse_args()
    print(f"torch {torch.__version__}, onnx {onnx.__version__}, numpy {np.__version__}")
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    if not args.only_big:
        os.makedirs(OUT_DIR, exist_ok=True)
        manifest = {
            "generator": "tools/export_onnx_fixtures.py",
            "torch": torch.__version__,
            "onnx": onnx.__version__,
            "seed": SEED,
            "files": {},
        }
        export_small(manifest)
        export_external(manifest)
        export_handmade(manifest)
        dump_json(manifest, os.path.join(OUT_DIR, "manifest.json"))
        total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(OUT_DIR) for f in fs)
        print(f"  total testdata/onnx: {kb(total)}")
    if args.big:
        export_big("resnet50")
    if args.resnet18:
        export_big("resnet18")


if __name__ == "__main__":
    main()
