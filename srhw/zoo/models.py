"""PyTorch definitions of the zoo architectures (torch is an optional extra).

Every model maps Y in [0, 1] to Y in [0, 1]. FSRCNN, ESPCN, EDSR and LapSRN take the LR image
and upscale inside; SRCNN takes the bicubic-upscaled image (MATLAB imresize) and keeps its size (zero
padding 'same', so that whole frames go through; the paper's valid convolutions only shrink
the border).
"""
from __future__ import annotations

import torch
from torch import nn


class FSRCNN(nn.Module):
    """FSRCNN(d, s, m) of Dong et al. 2016, with the paper's ConvTranspose upsampler.

    The output has exactly scale x the input size (padding k//2 and output_padding scale-1
    on the 9x9 deconvolution).
    """

    def __init__(self, scale: int = 2, d: int = 56, s: int = 12, m: int = 4, channels: int = 1) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(channels, d, 5, padding=2), nn.PReLU(d)]
        layers += [nn.Conv2d(d, s, 1), nn.PReLU(s)]
        for _ in range(m):
            layers += [nn.Conv2d(s, s, 3, padding=1), nn.PReLU(s)]
        layers += [nn.Conv2d(s, d, 1), nn.PReLU(d)]
        self.body = nn.Sequential(*layers)
        self.deconv = nn.ConvTranspose2d(d, channels, 9, stride=scale, padding=4, output_padding=scale - 1)
        for mod in self.body:
            if isinstance(mod, nn.Conv2d):
                nn.init.kaiming_normal_(mod.weight, a=0.25, nonlinearity="leaky_relu")
                nn.init.zeros_(mod.bias)
        nn.init.normal_(self.deconv.weight, std=0.001)
        nn.init.zeros_(self.deconv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.deconv(self.body(x))

    def last_layer(self) -> nn.Module:
        return self.deconv


class SRCNN(nn.Module):
    """SRCNN f1-f2-f3 with n1, n2 filters (Dong et al. 2014/2016): 9-5-5 or 9-1-5, 64/32."""

    def __init__(self, f2: int = 5, n1: int = 64, n2: int = 32, channels: int = 1) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(channels, n1, 9, padding=4)
        self.c2 = nn.Conv2d(n1, n2, f2, padding=f2 // 2)
        self.c3 = nn.Conv2d(n2, channels, 5, padding=2)
        for c in (self.c1, self.c2):
            nn.init.kaiming_normal_(c.weight, nonlinearity="relu")
            nn.init.zeros_(c.bias)
        nn.init.normal_(self.c3.weight, std=0.001)
        nn.init.zeros_(self.c3.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c3(torch.relu(self.c2(torch.relu(self.c1(x)))))

    def last_layer(self) -> nn.Module:
        return self.c3


class ESPCN(nn.Module):
    """ESPCN (Shi et al. 2016): 5x5 64, 3x3 32 with tanh, 3x3 r^2, PixelShuffle."""

    def __init__(self, scale: int = 3, channels: int = 1) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(channels, 64, 5, padding=2)
        self.c2 = nn.Conv2d(64, 32, 3, padding=1)
        self.c3 = nn.Conv2d(32, channels * scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)
        for c in (self.c1, self.c2):
            nn.init.xavier_normal_(c.weight, gain=5 / 3)
            nn.init.zeros_(c.bias)
        nn.init.normal_(self.c3.weight, std=0.001)
        nn.init.zeros_(self.c3.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.c3(torch.tanh(self.c2(torch.tanh(self.c1(x))))))

    def last_layer(self) -> nn.Module:
        return self.c3


class EDSR(nn.Module):
    """EDSR (Lim et al. 2017) in the baseline's shape: a head conv, `blocks` residual blocks
    (3x3 conv, ReLU, 3x3 conv, x `res_scale`, + the block's input), a body conv, the global
    skip, a sub-pixel upsampler (x2, x3: a conv to F r^2 channels and PixelShuffle; x4: two x2
    stages), a tail conv at HR. The mean shift (EDSR's MeanShift) subtracts `mean` from the
    input and adds it to the output. The paper's baseline is 64 features, 16 blocks."""

    def __init__(self, scale: int = 2, feats: int = 64, blocks: int = 16, res_scale: float = 1.0,
                 channels: int = 1, mean: float = 0.44) -> None:
        super().__init__()
        self.mean, self.res_scale = mean, res_scale
        self.head = nn.Conv2d(channels, feats, 3, padding=1)
        self.blocks = nn.ModuleList(nn.Sequential(nn.Conv2d(feats, feats, 3, padding=1), nn.ReLU(),
                                                  nn.Conv2d(feats, feats, 3, padding=1)) for _ in range(blocks))
        self.body_end = nn.Conv2d(feats, feats, 3, padding=1)
        stages = [2, 2] if scale == 4 else [scale]
        up: list[nn.Module] = []
        for r in stages:
            up += [nn.Conv2d(feats, feats * r * r, 3, padding=1), nn.PixelShuffle(r)]
        self.up = nn.Sequential(*up)
        self.tail = nn.Conv2d(feats, channels, 3, padding=1)
        nn.init.normal_(self.tail.weight, std=0.001)
        nn.init.zeros_(self.tail.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x - self.mean)
        r = h
        for block in self.blocks:
            y = block(r)
            r = r + (y if self.res_scale == 1.0 else y * self.res_scale)
        return self.tail(self.up(self.body_end(r) + h)) + self.mean

    def last_layer(self) -> nn.Module:
        return self.tail


def _bilinear_up2(channels: int) -> torch.Tensor:
    """The 4x4 stride-2 transposed-conv kernel of bilinear upsampling, one per channel."""
    f = torch.tensor([0.25, 0.75, 0.75, 0.25])
    w = torch.zeros(channels, channels, 4, 4)
    for c in range(channels):
        w[c, c] = f[:, None] * f[None, :]
    return w


class LapSRN(nn.Module):
    """LapSRN (Lai et al. 2017): a Laplacian pyramid of log2(scale) levels. The feature branch
    starts with a 3x3 conv; each level adds `depth` 3x3 convs with LeakyReLU(0.2), a 4x4
    stride-2 ConvTranspose (and LeakyReLU) and a 3x3 conv that predicts the level's residual;
    the image branch upsamples the image by a 4x4 stride-2 ConvTranspose (initialised to
    bilinear), and the level's output is the sum. The paper's model is 64 features, depth 10."""

    def __init__(self, scale: int = 4, feats: int = 64, depth: int = 10, channels: int = 1) -> None:
        super().__init__()
        levels = {2: 1, 4: 2, 8: 3}[scale]
        act = lambda: nn.LeakyReLU(0.2)  # noqa: E731
        self.inp = nn.Sequential(nn.Conv2d(channels, feats, 3, padding=1), act())
        self.features = nn.ModuleList()
        self.residuals = nn.ModuleList()
        self.images = nn.ModuleList()
        for _ in range(levels):
            layers: list[nn.Module] = []
            for _ in range(depth):
                layers += [nn.Conv2d(feats, feats, 3, padding=1), act()]
            layers += [nn.ConvTranspose2d(feats, feats, 4, stride=2, padding=1), act()]
            self.features.append(nn.Sequential(*layers))
            res = nn.Conv2d(feats, channels, 3, padding=1)
            nn.init.normal_(res.weight, std=0.001)
            nn.init.zeros_(res.bias)
            self.residuals.append(res)
            img = nn.ConvTranspose2d(channels, channels, 4, stride=2, padding=1)
            with torch.no_grad():
                img.weight.copy_(_bilinear_up2(channels))
                img.bias.zero_()
            self.images.append(img)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f, img = self.inp(x), x
        for feat, res, up in zip(self.features, self.residuals, self.images):
            f = feat(f)
            img = up(img) + res(f)
        return img

    def last_layer(self) -> nn.Module:
        return self.residuals[-1]
