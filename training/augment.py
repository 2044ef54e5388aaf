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
    aspect_range: tuple[float, float] = (0.7, 1.7)  # x-scale relative to y-scale, drawn log-uniform
    max_shift_px: float = 2.0
    thicken_probability: float = 0.35
    thin_probability: float = 0.2
    binarize_probability: float = 0.15  # hard-edged scans (thresholded, no anti-aliasing)
    blur_probability: float = 0.15  # soft photos and upscaled pictures
    square_probability: float = 0.2  # size-normalising scanners stretch the digit's box to a square
    max_square_stretch: float = 1.8
    low_resolution_probability: float = 0.3  # 16×16-style sources (USPS, Semeion, small scans)
    low_resolution_sides: tuple[int, int] = (14, 24)  # the 28×28 field shrunk to this, then enlarged
    elastic_probability: float = 0.5  # wobbly strokes: a smooth random displacement field
    elastic_max_px: float = 1.5


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
    aspect = tf.exp(uniform(math.log(config.aspect_range[0]), math.log(config.aspect_range[1]), 5))
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


def _stretch_to_square(images: tf.Tensor, seed: tf.Tensor, config: AugmentConfig) -> tf.Tensor:
    """Stretch the digit's bounding box towards a 20×20 square, as USPS and Semeion were made
    (their digits fill a square whatever their shape), at most `max_square_stretch` per axis."""
    batch = tf.shape(images)[0]
    ink = images[..., 0] > 30.0
    rows, cols = tf.reduce_any(ink, axis=2), tf.reduce_any(ink, axis=1)

    def extent(mask):
        size = tf.shape(mask)[1]
        first = tf.argmax(tf.cast(mask, tf.int32), axis=1, output_type=tf.int32)
        last = size - 1 - tf.argmax(tf.cast(tf.reverse(mask, axis=[1]), tf.int32), axis=1, output_type=tf.int32)
        return tf.cast(first, tf.float32), tf.cast(last, tf.float32)

    top, bottom = extent(rows)
    left, right = extent(cols)
    height, width = bottom - top + 1.0, right - left + 1.0
    # Output size of the stretched box, each side at most max_square_stretch × the original.
    out_h = tf.minimum(20.0, height * config.max_square_stretch)
    out_w = tf.minimum(20.0, width * config.max_square_stretch)
    # Sample the box so it fills out_h × out_w centred in the 28×28 field.
    scale_y, scale_x = height / out_h, width / out_w
    origin_y, origin_x = (28.0 - out_h) / 2.0, (28.0 - out_w) / 2.0
    zeros = tf.zeros_like(scale_x)
    transforms = tf.stack(
        [scale_x, zeros, left - origin_x * scale_x, zeros, scale_y, top - origin_y * scale_y, zeros, zeros], axis=1
    )
    stretched = tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=tf.constant([28, 28]), fill_value=0.0,
        interpolation="BILINEAR", fill_mode="CONSTANT",
    )
    choose = tf.random.stateless_uniform([batch, 1, 1, 1], seed=seed) < config.square_probability
    has_ink = tf.reduce_any(ink, axis=[1, 2])[:, None, None, None]
    return tf.where(choose & has_ink, stretched, images)


def _elastic(images: tf.Tensor, seed: tf.Tensor, config: AugmentConfig) -> tf.Tensor:
    """Warp by a smooth random field (a 4×4 grid of displacements, upsampled): Simard-style
    elastic distortion, which imitates the wobble of real pens better than any affine map."""
    batch = tf.shape(images)[0]
    coarse = tf.random.stateless_uniform([batch, 4, 4, 2], seed=seed, minval=-1.0, maxval=1.0)
    field = tf.image.resize(coarse, [28, 28], method="bilinear") * config.elastic_max_px
    active = tf.cast(tf.random.stateless_uniform([batch, 1, 1, 1], seed=seed + 1) < config.elastic_probability, tf.float32)
    field *= active
    grid_y, grid_x = tf.meshgrid(tf.range(28.0), tf.range(28.0), indexing="ij")
    source_y = grid_y[None] + field[..., 0]
    source_x = grid_x[None] + field[..., 1]
    padded = tf.pad(images[..., 0], [[0, 0], [1, 1], [1, 1]])  # zeros outside the picture
    y0, x0 = tf.floor(source_y), tf.floor(source_x)
    wy, wx = source_y - y0, source_x - x0
    batch_index = tf.broadcast_to(tf.range(batch)[:, None, None], tf.shape(source_y))

    def pixel(y, x):
        y = tf.cast(tf.clip_by_value(y + 1.0, 0.0, 29.0), tf.int32)
        x = tf.cast(tf.clip_by_value(x + 1.0, 0.0, 29.0), tf.int32)
        return tf.gather_nd(padded, tf.stack([batch_index, y, x], axis=-1))

    warped = (
        pixel(y0, x0) * (1 - wy) * (1 - wx)
        + pixel(y0, x0 + 1) * (1 - wy) * wx
        + pixel(y0 + 1, x0) * wy * (1 - wx)
        + pixel(y0 + 1, x0 + 1) * wy * wx
    )
    return warped[..., None]


def _low_resolution(images: tf.Tensor, seed: tf.Tensor, config: AugmentConfig) -> tf.Tensor:
    """Some images pass through a coarse grid and back, as digits scanned at 16×16 reach the
    model after preprocessing enlarges them: blocky, and half of them thresholded as well."""
    batch = tf.shape(images)[0]
    side = tf.random.stateless_uniform(
        [], seed=seed, minval=config.low_resolution_sides[0], maxval=config.low_resolution_sides[1] + 1, dtype=tf.int32
    )
    coarse = tf.image.resize(images, tf.stack([side, side]), method="area")
    binary = tf.random.stateless_uniform([batch, 1, 1, 1], seed=seed + 1) < 0.5
    coarse = tf.where(binary, tf.where(coarse > 110.0, 255.0, 0.0), coarse)
    restored = tf.clip_by_value(tf.image.resize(coarse, [28, 28], method="bilinear"), 0.0, 255.0)
    choose = tf.random.stateless_uniform([batch, 1, 1, 1], seed=seed + 2) < config.low_resolution_probability
    return tf.where(choose, restored, images)


def augment_batch(images: tf.Tensor, seed: tf.Tensor, config: AugmentConfig = AugmentConfig()) -> tf.Tensor:
    """`images`: float32 (B, 28, 28, 1) in 0‥255; `seed`: int32/int64 shape (2,)."""
    seed = tf.cast(seed, tf.int64)
    images = _stroke_width(images, seed, config)
    images = _elastic(images, seed + 30, config)
    images = _stretch_to_square(images, seed + 40, config)
    images = _affine(images, seed + 10, config)
    images = _edges(images, seed + 20, config)
    images = _low_resolution(images, seed + 50, config)
    return tf.clip_by_value(images, 0.0, 255.0)
