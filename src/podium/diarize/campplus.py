"""CAM++ speaker-embedding network (3D-Speaker's `CAMPPlus`), written for inference with frame masks.

Architecture (Wang et al., "CAM++: A Fast and Efficient Network for Speaker Verification Using
Context-Aware Masking", Interspeech 2023), as configured for 3D-Speaker's
`speech_campplus_sv_zh_en_16k-common_advanced` checkpoint:

    fbank (B, T, 80)
      -> FCM head: 2-D conv + two stages of residual blocks, frequency stride 2 each, + 2-D conv
      -> TDNN (kernel 5, time stride 2)
      -> three dense TDNN blocks of CAM layers (12/24/16 layers, growth 32, dilation 1/2/2),
         each followed by a transit layer halving the channels
      -> batchnorm + ReLU                      = frame-level features (B, 512, T/2)
      -> statistics pooling (mean, std)        (masked here: one pooling per speaker)
      -> dense layer to 192, non-affine batchnorm

Module and parameter names follow the checkpoint's state dict so `load_state_dict(strict=True)` works;
that is why the attributes are called `head`, `xvector`, `tdnnd1`, `nonlinear`, `linear`, ...
The frame-level trunk and the pooling are split (`frames` / `pool`) so a chunk shared by several
speakers runs through the network once and is pooled once per speaker.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

EMBEDDING_DIM = 192
FEATURE_DIM = 80
# CAM layers pool their context over segments of this many frames (3D-Speaker's default).
CAM_SEGMENT_FRAMES = 100


def _batchnorm_relu(channels: int) -> nn.Sequential:
    """3D-Speaker's `batchnorm-relu` nonlinearity (a Sequential so the keys read `...batchnorm.weight`)."""
    layers = nn.Sequential()
    layers.add_module("batchnorm", nn.BatchNorm1d(channels))
    layers.add_module("relu", nn.ReLU(inplace=True))
    return layers


class ResidualBlock2d(nn.Module):
    """Two 3x3 convolutions with a shortcut; `stride` subsamples frequency only, never time."""

    def __init__(self, in_channels: int, channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride=(stride, 1), padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_channels != channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, channels, 1, stride=(stride, 1), bias=False),
                nn.BatchNorm2d(channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu_(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu_(out + self.shortcut(x))


class FCMHead(nn.Module):
    """Front-end convolution module: (B, F, T) fbank -> (B, channels * F/8, T)."""

    def __init__(self, feature_dim: int = FEATURE_DIM, channels: int = 32, blocks: tuple[int, int] = (2, 2)):
        super().__init__()
        self.conv1 = nn.Conv2d(1, channels, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.layer1 = nn.Sequential(*[ResidualBlock2d(channels, channels, 2 if i == 0 else 1)
                                      for i in range(blocks[0])])
        self.layer2 = nn.Sequential(*[ResidualBlock2d(channels, channels, 2 if i == 0 else 1)
                                      for i in range(blocks[1])])
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=(2, 1), padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.out_channels = channels * (feature_dim // 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu_(self.bn1(self.conv1(x.unsqueeze(1))))
        out = self.layer2(self.layer1(out))
        out = F.relu_(self.bn2(self.conv2(out)))
        batch, channels, freq, time = out.shape
        return out.reshape(batch, channels * freq, time)


class TDNNLayer(nn.Module):
    """Strided, 'same'-padded 1-D convolution followed by batchnorm + ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int) -> None:
        super().__init__()
        self.linear = nn.Conv1d(in_channels, out_channels, kernel_size, stride=stride,
                                padding=(kernel_size - 1) // 2, bias=False)
        self.nonlinear = _batchnorm_relu(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.nonlinear(self.linear(x))


class CAMLayer(nn.Module):
    """Context-aware masking: a local TDNN output gated by a mask predicted from utterance-level
    (global mean) plus segment-level (mean over 100-frame segments) context."""

    def __init__(self, bn_channels: int, out_channels: int, kernel_size: int, dilation: int,
                 reduction: int = 2) -> None:
        super().__init__()
        padding = (kernel_size - 1) // 2 * dilation
        self.linear_local = nn.Conv1d(bn_channels, out_channels, kernel_size, padding=padding,
                                      dilation=dilation, bias=False)
        self.linear1 = nn.Conv1d(bn_channels, bn_channels // reduction, 1)
        self.linear2 = nn.Conv1d(bn_channels // reduction, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        local = self.linear_local(x)
        # The context is one value per segment, so the mask is too: 3D-Speaker broadcasts the segment
        # means to every frame before the two 1x1 convolutions, which gives the same mask at a
        # hundred times the cost (about a tenth of the trunk's multiplications).
        context = x.mean(dim=-1, keepdim=True) + _segment_means(x, CAM_SEGMENT_FRAMES)
        mask = torch.sigmoid(self.linear2(F.relu(self.linear1(context))))
        return local * torch.repeat_interleave(mask, CAM_SEGMENT_FRAMES, dim=-1)[..., : x.shape[-1]]


def _segment_means(x: torch.Tensor, segment: int) -> torch.Tensor:
    """(B, C, T) -> (B, C, ceil(T / segment)): the mean of each consecutive `segment`-frame window
    (the last one may be shorter)."""
    return F.avg_pool1d(x, kernel_size=segment, stride=segment, ceil_mode=True)


class CAMDenseTDNNLayer(nn.Module):
    """Bottleneck (BN-ReLU-1x1 conv to `bn_channels`, BN-ReLU), then a CAM layer adding `growth` channels."""

    def __init__(self, in_channels: int, growth: int, bn_channels: int, kernel_size: int,
                 dilation: int) -> None:
        super().__init__()
        self.nonlinear1 = _batchnorm_relu(in_channels)
        self.linear1 = nn.Conv1d(in_channels, bn_channels, 1, bias=False)
        self.nonlinear2 = _batchnorm_relu(bn_channels)
        self.cam_layer = CAMLayer(bn_channels, growth, kernel_size, dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cam_layer(self.nonlinear2(self.linear1(self.nonlinear1(x))))


class CAMDenseTDNNBlock(nn.Module):
    """DenseNet-style block: each layer's output is concatenated to its input."""

    def __init__(self, num_layers: int, in_channels: int, growth: int, bn_channels: int,
                 kernel_size: int, dilation: int) -> None:
        super().__init__()
        for index in range(num_layers):
            width = in_channels + index * growth
            layer = CAMDenseTDNNLayer(width, growth, bn_channels, kernel_size, dilation)
            self.add_module(f"tdnnd{index + 1}", layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.children():
            x = torch.cat([x, layer(x)], dim=1)
        return x


class TransitLayer(nn.Module):
    """BN-ReLU then a 1x1 convolution (no bias) that halves the channels between dense blocks."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.nonlinear = _batchnorm_relu(in_channels)
        self.linear = nn.Conv1d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.nonlinear(x))


class EmbeddingLayer(nn.Module):
    """Pooled statistics -> embedding: a 1x1 convolution and a batchnorm without affine parameters."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.linear = nn.Conv1d(in_channels, out_channels, 1, bias=False)
        self.nonlinear = nn.Sequential()
        self.nonlinear.add_module("batchnorm", nn.BatchNorm1d(out_channels, affine=False))

    def forward(self, stats: torch.Tensor) -> torch.Tensor:
        # stats: (N, in_channels); treat it as a length-1 sequence for the conv and batchnorm.
        return self.nonlinear(self.linear(stats.unsqueeze(-1))).squeeze(-1)


class XVector(nn.Module):
    """Everything after the FCM head: TDNN, dense blocks, transits, and the embedding layer.

    3D-Speaker builds this as one `nn.Sequential` ending in stats pooling + dense layer; here the
    frame-level part (`frames`) and the pooled part (`dense`) are separate calls, so a chunk shared
    by several speakers runs through the trunk once and is pooled once per speaker.
    """

    def __init__(self, in_channels: int, embedding_dim: int, growth: int, bn_factor: int,
                 init_channels: int) -> None:
        super().__init__()
        self.tdnn = TDNNLayer(in_channels, init_channels, 5, stride=2)
        channels = init_channels
        self.stages: list[tuple[CAMDenseTDNNBlock, TransitLayer]] = []
        for index, (num_layers, dilation) in enumerate(((12, 1), (24, 2), (16, 2)), start=1):
            block = CAMDenseTDNNBlock(num_layers, channels, growth, bn_factor * growth, 3, dilation)
            channels += num_layers * growth
            transit = TransitLayer(channels, channels // 2)
            channels //= 2
            self.add_module(f"block{index}", block)
            self.add_module(f"transit{index}", transit)
            self.stages.append((block, transit))
        self.out_nonlinear = _batchnorm_relu(channels)
        self.dense = EmbeddingLayer(channels * 2, embedding_dim)
        self.frame_channels = channels

    def frames(self, x: torch.Tensor) -> torch.Tensor:
        x = self.tdnn(x)
        for block, transit in self.stages:
            x = transit(block(x))
        return self.out_nonlinear(x)


class CAMPPlus(nn.Module):
    """CAM++: `frames` (fbank -> frame-level features) and `pool` (masked statistics -> embedding)."""

    def __init__(self, feature_dim: int = FEATURE_DIM, embedding_dim: int = EMBEDDING_DIM,
                 growth: int = 32, bn_factor: int = 4, init_channels: int = 128) -> None:
        super().__init__()
        self.head = FCMHead(feature_dim)
        self.xvector = XVector(self.head.out_channels, embedding_dim, growth, bn_factor, init_channels)

    @staticmethod
    def num_output_frames(num_fbank_frames: int) -> int:
        """Frames left after the stride-2 TDNN (kernel 5, padding 2)."""
        return (num_fbank_frames - 1) // 2 + 1

    def frames(self, fbank: torch.Tensor, varied_lengths: bool = False) -> torch.Tensor:
        """(B, T, 80) mean-normalised fbank -> (B, 512, T') frame-level features. `varied_lengths`:
        the caller's inputs rarely repeat a length (clips of speech, not fixed blocks).

        oneDNN builds a primitive for each new input shape of each of the trunk's 1-D convolutions
        (over a hundred), which costs more than it saves on a one-off shape: on 0.5-3 s clips of
        new lengths, the trunk without it made CAM++ a third faster (20.6 s -> 13.4 s for 240
        clips), while on repeated 11 s blocks oneDNN is 5-10% faster. The 2-D head keeps it either
        way (4x slower without). Same results to 1e-5."""
        head = self.head(fbank.transpose(1, 2))
        if not varied_lengths:
            return self.xvector.frames(head)
        with torch.backends.mkldnn.flags(enabled=False):
            return self.xvector.frames(head)

    def pool(self, frames: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C, T') frames and (B, S, T') 0/1 weights -> (B, S, 192) embeddings.

        Without weights every frame counts (S = 1). A (chunk, speaker) pair with fewer than two
        active frames has no standard deviation: its embedding is NaN, which pyannote's clustering
        reads as "no embedding".
        """
        if weights is None:
            weights = frames.new_ones(frames.shape[0], 1, frames.shape[-1])
        batch, speakers, _ = weights.shape
        stats = masked_statistics(frames, weights)
        return self.xvector.dense(stats.reshape(batch * speakers, -1)).reshape(batch, speakers, -1)

    def forward(self, fbank: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        return self.pool(self.frames(fbank), weights)

    def fold_batchnorms(self) -> CAMPPlus:
        """Fold every batchnorm that directly follows a convolution into that convolution's weights
        and bias, for inference: 65 of the 122 batchnorm passes go, and the frames move by rounding
        only (at most about 1e-5). The state dict no longer loads after this (the folded batchnorms
        are gone), so call it once the checkpoint is in; a second call changes nothing. The
        batchnorms that come before a convolution (after a concatenation) cannot be folded and stay."""
        pairs: list[tuple[nn.Module, str, nn.Module, str]] = []
        for module in self.modules():
            if isinstance(module, FCMHead | ResidualBlock2d):
                pairs += [(module, "conv1", module, "bn1"), (module, "conv2", module, "bn2")]
            if isinstance(module, ResidualBlock2d) and len(module.shortcut):
                pairs.append((module.shortcut, "0", module.shortcut, "1"))
            if isinstance(module, TDNNLayer):
                pairs.append((module, "linear", module.nonlinear, "batchnorm"))
            if isinstance(module, CAMDenseTDNNLayer):
                pairs.append((module, "linear1", module.nonlinear2, "batchnorm"))
        for conv_owner, conv_name, norm_owner, norm_name in pairs:
            conv = getattr(conv_owner, conv_name)
            norm = getattr(norm_owner, norm_name)
            if not isinstance(norm, nn.BatchNorm1d | nn.BatchNorm2d):  # folded already
                continue
            setattr(conv_owner, conv_name, fuse_conv_bn_eval(conv.eval(), norm.eval()))
            setattr(norm_owner, norm_name, nn.Identity())
        return self


def masked_statistics(frames: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Mean and unbiased standard deviation of `frames` (B, C, T) over the frames where each of
    the S `weights` rows (B, S, T) is 1 -> (B, S, 2C). NaN where fewer than two frames are active."""
    count = weights.sum(dim=-1, keepdim=True)  # (B, S, 1)
    mean = torch.einsum("bst,bct->bsc", weights, frames) / count
    squares = torch.einsum("bst,bct->bsc", weights, frames * frames)
    # Var = (sum x^2 - n mean^2) / (n - 1); clamp the rounding error that can make it slightly negative.
    variance = (squares - count * mean * mean) / (count - 1)
    std = variance.clamp_min(0.0).sqrt()
    stats = torch.cat([mean, std], dim=-1)
    too_short = (count < 2).expand_as(stats)
    return torch.where(too_short, torch.full_like(stats, float("nan")), stats)
