"""Batch augmentation that makes MNIST look like other people's handwriting.

Real uploads differ from MNIST in slant, aspect ratio (scanners that stretch digits to a square),
position after centring, and above all stroke width (felt pens, thresholded scans). Each image gets
its own random stroke-width change and affine warp, drawn from stateless RNG so a seed reproduces a
run exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import tensorflow as tf


@dataclass(frozen=True)
class AugmentConfig:
    max_rotation_deg: float = 12.0
    max_shear: float = 0.3
    scale_range: tuple[float, float] = (0.85, 1.1)
    aspect_range: tuple[float, float] = (0.7, 1.3)  # x-scale relative to y-scale
    max_shift_px: float = 2.0
    thicken_probability: float = 0.35
    thin_probability: float = 0.2
    binarize_probability: float = 0.15  # hard-edged scans (thresholded, no anti-aliasing)
    blur_probability: float = 0.15  # soft photos and upscaled pictures


def _stroke_width(images: tf.Tensor, seed: tf.Tensor, config: AugmentConfig) -> tf.Tensor:
    """Blend each image towards its 3×3 dilation (thicker) or erosion (thinner) by a random amount."""
    batch = tf.shape(images)[0]
    choice = tf.random.stateless_uniform([batch, 1, 1, 1], seed=seed)
    amount = tf.random.stateless_uniform([batch, 1, 1, 1], seed=seed + 1)
    dilated = tf.nn.max_pool2d(images, 3, 1, "SAME")
    eroded = -tf.nn.max_pool2d(-images, 3, 1, "SAME")
    thicker = images + amount * (dilated - images)
    thinner = images - 0.6 * amount * (images - eroded)
    thick_cut = config.thicken_probability
    thin_cut = thick_cut + config.thin_probability
    return tf.where(choice < thick_cut, thicker, tf.where(choice < thin_cut, thinner, images))


def _affine(images: tf.Tensor, seed: tf.Tensor, config: AugmentConfig) -> tf.Tensor:
    batch = tf.shape(images)[0]

    def uniform(low: float, high: float, offset: int) -> tf.Tensor:
        return tf.random.stateless_uniform([batch], seed=seed + offset, minval=low, maxval=high)

    angle = uniform(-1.0, 1.0, 2) * math.radians(config.max_rotation_deg)
    shear = uniform(-config.max_shear, config.max_shear, 3)
    scale = uniform(*config.scale_range, 4)
    aspect = uniform(*config.aspect_range, 5)
    shift_x = uniform(-config.max_shift_px, config.max_shift_px, 6)
    shift_y = uniform(-config.max_shift_px, config.max_shift_px, 7)
    scale_x, scale_y = scale * tf.sqrt(aspect), scale / tf.sqrt(aspect)
    cos, sin = tf.cos(angle), tf.sin(angle)
    # Forward map (input → output) = rotation · shear · scale; the op wants output → input.
    a = cos * scale_x
    b = cos * shear * scale_y - sin * scale_y
    c = sin * scale_x
    d = sin * shear * scale_y + cos * scale_y
    det = a * d - b * c
    ia, ib, ic, id_ = d / det, -b / det, -c / det, a / det
    centre = (28.0 - 1.0) / 2.0
    out_x0, out_y0 = centre + shift_x, centre + shift_y
    # input = M⁻¹ · (output − centre − shift) + centre
    tx = centre - (ia * out_x0 + ib * out_y0)
    ty = centre - (ic * out_x0 + id_ * out_y0)
    zeros = tf.zeros_like(ia)
    transforms = tf.stack([ia, ib, tx, ic, id_, ty, zeros, zeros], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=tf.constant([28, 28]),
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )


def _edges(images: tf.Tensor, seed: tf.Tensor, config: AugmentConfig) -> tf.Tensor:
    """Some images lose their anti-aliasing (binary scans), some get softer (blurry photos)."""
    batch = tf.shape(images)[0]
    choice = tf.random.stateless_uniform([batch, 1, 1, 1], seed=seed)
    level = tf.random.stateless_uniform([batch, 1, 1, 1], seed=seed + 1, minval=64.0, maxval=160.0)
    binary = tf.where(images > level, 255.0, 0.0)
    kernel = tf.constant([1.0, 2.0, 1.0]) / 4.0
    kernel = tf.reshape(kernel[:, None] * kernel[None, :], [3, 3, 1, 1])
    blurred = tf.nn.conv2d(images, kernel, strides=1, padding="SAME")
    blurred = tf.minimum(blurred * 1.25, 255.0)
    binary_cut = config.binarize_probability
    blur_cut = binary_cut + config.blur_probability
    return tf.where(choice < binary_cut, binary, tf.where(choice < blur_cut, blurred, images))


def augment_batch(images: tf.Tensor, seed: tf.Tensor, config: AugmentConfig = AugmentConfig()) -> tf.Tensor:
    """`images`: float32 (B, 28, 28, 1) in 0‥255; `seed`: int32/int64 shape (2,)."""
    seed = tf.cast(seed, tf.int64)
    images = _stroke_width(images, seed, config)
    images = _affine(images, seed + 10, config)
    images = _edges(images, seed + 20, config)
    return tf.clip_by_value(images, 0.0, 255.0)
