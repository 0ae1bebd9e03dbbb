"""PyTorch definitions of the zoo architectures (torch is an optional extra).

Every model maps Y in [0, 1] to Y in [0, 1]. FSRCNN and ESPCN take the LR image and upscale
inside; SRCNN takes the bicubic-upscaled image (MATLAB imresize) and keeps its size (zero
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
