"""Train the same tiny C3D as Motive's `c3d_tiny` in PyTorch, to tell an engine fault from an
optimisation problem. Not a test and not used by the product; needs torch and av.

    python bench/c3d_reference.py data/synth/train.txt [--epochs 3] [--lr 5e-4] [--bn] [--init fan_in]

Data: 16 consecutive frames from a random start, resized to 73² and randomly cropped to 64²,
scaled to 0–1 and normalised with the kinetics mean and std, as the tiny configs do (minus the
multi-scale crop). Model: widths 16/32/64/64/128/128/128/128, fc6/fc7 of 256, MMAction2's
initialisation (or --init fan_in). Optimiser: AdamW, weight decay 1e-4 (none on biases), cosine schedule.
Prints the mean training loss per epoch.
"""
import argparse
import math
import os

import av
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def load_list(path):
    root = os.path.dirname(path)
    items = []
    for line in open(path):
        name, label = line.split()
        items.append((os.path.join(root, name), int(label)))
    return items


def decode(path):
    with av.open(path) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    x = torch.from_numpy(np.stack(frames)).permute(3, 0, 1, 2).float() / 255  # C, T, H, W
    return F.interpolate(x, size=(73, 73), mode="bilinear", align_corners=False)


class TinyC3D(nn.Module):
    def __init__(self, classes=10, bn=False, init="mmaction2"):
        super().__init__()
        widths = [16, 32, 64, 64, 128, 128, 128, 128]
        layers, cin = [], 3
        for i, c in enumerate(widths):
            layers.append(nn.Conv3d(cin, c, 3, padding=1))
            if bn:
                layers.append(nn.BatchNorm3d(c))
            layers.append(nn.ReLU())
            if i == 0:
                layers.append(nn.MaxPool3d((1, 2, 2), (1, 2, 2)))
            elif i in (1, 3, 5):
                layers.append(nn.MaxPool3d(2, 2))
            elif i == 7:
                layers.append(nn.MaxPool3d(2, 2, padding=(0, 1, 1)))
            cin = c
        self.features = nn.Sequential(*layers)
        self.fc6 = nn.Linear(128 * 9, 256)
        self.fc7 = nn.Linear(256, 256)
        self.fc8 = nn.Linear(256, classes)
        # mmaction2: He-normal fan-out convs, N(0, 0.005²) fc6/fc7. fan_in: He-normal fan-in for
        # the convs, fc6 and fc7, which keeps the activations' scale through all ten layers.
        mode = "fan_out" if init == "mmaction2" else "fan_in"
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode=mode, nonlinearity="relu")
                nn.init.zeros_(m.bias)
        for fc in (self.fc6, self.fc7):
            if init == "mmaction2":
                nn.init.normal_(fc.weight, std=0.005)
            else:
                nn.init.kaiming_normal_(fc.weight, mode="fan_in", nonlinearity="relu")
            nn.init.zeros_(fc.bias)
        nn.init.normal_(self.fc8.weight, std=0.01)
        nn.init.zeros_(self.fc8.bias)

    def forward(self, x):
        x = self.features(x).flatten(1)
        x = F.dropout(F.relu(self.fc6(x)), 0.5, self.training)
        x = F.dropout(F.relu(self.fc7(x)), 0.5, self.training)
        return self.fc8(x)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("list")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--bn", action="store_true")
    p.add_argument("--init", choices=["mmaction2", "fan_in"], default="mmaction2")
    a = p.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(2)
    items = load_list(a.list)
    videos = [(decode(path), label) for path, label in items]
    mean = torch.tensor([0.43216, 0.394666, 0.37645]).view(3, 1, 1, 1)
    std = torch.tensor([0.22803, 0.22145, 0.216989]).view(3, 1, 1, 1)
    model = TinyC3D(bn=a.bn, init=a.init)
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    rest = [p for n, p in model.named_parameters() if p.ndim <= 1]
    opt = torch.optim.AdamW([{"params": decay}, {"params": rest, "weight_decay": 0}], lr=a.lr, weight_decay=1e-4)
    steps = a.epochs * math.ceil(len(videos) / 8)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for epoch in range(a.epochs):
        order = torch.randperm(len(videos)).tolist()
        losses, correct = [], 0
        for b in range(0, len(order), 8):
            clips, labels = [], []
            for i in order[b:b + 8]:
                x, label = videos[i]
                t = np.random.randint(0, x.shape[1] - 15)
                y, z = np.random.randint(0, 10, size=2)
                clips.append((x[:, t:t + 16, y:y + 64, z:z + 64] - mean) / std)
                labels.append(label)
            logits = model(torch.stack(clips))
            target = torch.tensor(labels)
            loss = F.cross_entropy(logits, target)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            correct += (logits.argmax(1) == target).sum().item()
        print(f"epoch {epoch + 1}: loss {np.mean(losses):.4f} top-1 {correct / len(videos):.3f}", flush=True)


if __name__ == "__main__":
    main()
