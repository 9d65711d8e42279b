"""Grad-CAM in PyTorch, timed the way bench/grad_cam_bench.ts times cnnlens.

The same computation: a torchvision-layout ResNet-18 / ResNet-50 (written out here, torchvision is not
needed), eval mode, one image, forward with the last block's output kept, backward of the class-0 logit to
that output only, weights = spatial mean of the gradient, map = ReLU(sum_k w_k A_k), read back as numpy.

    /usr/bin/python3 packages/cam/bench/torch_gradcam.py [--size 224] [--threads 1] [--runs 5]

Prints one line per model: median milliseconds over the runs (after one warm-up).
"""
import argparse
import statistics
import time

import torch
from torch import nn


class Basic(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.down = None
        if stride != 1 or cin != planes:
            self.down = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        y = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(y + (self.down(x) if self.down is not None else x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride):
        super().__init__()
        out = planes * 4
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU()
        self.down = None
        if stride != 1 or cin != out:
            self.down = nn.Sequential(nn.Conv2d(cin, out, 1, stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu(y + (self.down(x) if self.down is not None else x))


class ResNet(nn.Module):
    def __init__(self, block, layers, classes=1000):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)
        )
        stages, cin = [], 64
        for i, n in enumerate(layers):
            planes = 64 * 2**i
            blocks = []
            for j in range(n):
                blocks.append(block(cin, planes, 2 if (j == 0 and i > 0) else 1))
                cin = planes * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.features = nn.Sequential(self.stem, *stages)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        a = self.features(x)  # the Grad-CAM target layer: the last block's ReLU output
        return a, self.fc(a.mean((2, 3)))


def grad_cam(model, x, cls=0):
    a, logits = model(x)
    a.retain_grad()
    logits[:, cls].sum().backward(inputs=[a])
    w = a.grad.mean((2, 3), keepdim=True)
    return torch.relu((w * a).sum(1)).detach().numpy()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    for name, block, layers in [("resnet18", Basic, [2, 2, 2, 2]), ("resnet50", Bottleneck, [3, 4, 6, 3])]:
        model = ResNet(block, layers).eval()
        x = torch.randn(1, 3, args.size, args.size)
        grad_cam(model, x)
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            m = grad_cam(model, x)
            times.append((time.perf_counter() - t0) * 1000)
        print(
            f"torch {torch.__version__} {name} {args.size}x{args.size} threads={torch.get_num_threads()}: "
            f"median {statistics.median(times):.1f} ms over {args.runs} runs (map {m.shape[1]}x{m.shape[2]})"
        )


if __name__ == "__main__":
    main()
