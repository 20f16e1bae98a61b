"""Face crops, target heatmaps and heatmap decoding, in face-alignment's conventions.

A face box gives a crop centre (box centre moved up by 0.12 box heights) and a scale
((w + h) / 195); the crop covers ``200 * scale`` image pixels. Landmark <-> heatmap coordinates
follow face-alignment's ``transform``: ``u = (x - c) * r / (200 s) + r / 2``, and a heatmap
pixel ``k`` stands for ``u = k + 0.5`` (``get_preds_fromhm``).
"""

from __future__ import annotations

import cv2
import numpy as np

REFERENCE_SCALE = 195.0
CENTER_SHIFT = 0.12
SCALE_TO_PIXELS = 200.0
SIGMA = 1.75  # target Gaussian standard deviation, heatmap pixels (7x7 patch)
PATCH_RADIUS = 3


def center_scale(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Face boxes ``(..., 4)`` (x1, y1, x2, y2) -> centres ``(..., 2)`` and scales ``(...)``."""
    b = np.asarray(boxes, dtype=np.float64)
    w, h = b[..., 2] - b[..., 0], b[..., 3] - b[..., 1]
    center = np.stack([b[..., 2] - w / 2.0, b[..., 3] - h / 2.0 - h * CENTER_SHIFT], axis=-1)
    return center, (w + h) / REFERENCE_SCALE


def to_crop(points: np.ndarray, center: np.ndarray, scale: np.ndarray, resolution: float) -> np.ndarray:
    """Image points ``(..., N, 2)`` -> crop/heatmap coordinates at ``resolution`` (continuous)."""
    h = SCALE_TO_PIXELS * np.asarray(scale, dtype=np.float64)[..., None, None]
    c = np.asarray(center, dtype=np.float64)[..., None, :]
    return (np.asarray(points, dtype=np.float64) - c) * resolution / h + resolution / 2.0


def from_crop(points: np.ndarray, center: np.ndarray, scale: np.ndarray, resolution: float) -> np.ndarray:
    """Inverse of :func:`to_crop`."""
    h = SCALE_TO_PIXELS * np.asarray(scale, dtype=np.float64)[..., None, None]
    c = np.asarray(center, dtype=np.float64)[..., None, :]
    return (np.asarray(points, dtype=np.float64) - resolution / 2.0) * h / resolution + c


def crop_window(center: np.ndarray, scale: float, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """face-alignment's integer crop window: upper-left and bottom-right image pixels ``(2,)``."""
    h = SCALE_TO_PIXELS * float(scale)
    corners = np.array([[1.0, 1.0], [resolution, resolution]])
    ul, br = np.trunc((corners - resolution / 2.0) * h / resolution + np.asarray(center, np.float64)).astype(np.int64)
    return ul, br


def crop_matrix(
    center: np.ndarray, scale: float, resolution: int, rotation_deg: float = 0.0, zoom: float = 1.0, flip: bool = False
) -> np.ndarray:
    """2x3 affine, image pixels -> crop pixels (OpenCV's pixel-centre convention).

    Without augmentation it samples exactly what face-alignment's ``crop`` does (integer crop
    window, then a linear resize); ``rotation_deg`` (counter-clockwise), ``zoom`` and ``flip``
    act about the crop centre, for training.
    """
    ul, br = crop_window(center, scale, resolution)
    size = (br - ul).astype(np.float64)
    # crop pixel j samples image x = ul + (j + 0.5) * size / resolution - 0.5 (cv2.resize, linear)
    base = np.array(
        [
            [resolution / size[0], 0.0, -(ul[0] - 0.5) * resolution / size[0] - 0.5],
            [0.0, resolution / size[1], -(ul[1] - 0.5) * resolution / size[1] - 0.5],
            [0.0, 0.0, 1.0],
        ]
    )
    mid = (resolution - 1) / 2.0
    a = np.radians(rotation_deg)
    aug = np.array([[zoom * np.cos(a), zoom * np.sin(a), 0.0], [-zoom * np.sin(a), zoom * np.cos(a), 0.0], [0, 0, 1]])
    if flip:
        aug = np.diag([-1.0, 1.0, 1.0]) @ aug
    about = (
        np.array([[1.0, 0, mid], [0, 1.0, mid], [0, 0, 1.0]])
        @ aug
        @ np.array([[1.0, 0, -mid], [0, 1.0, -mid], [0, 0, 1]])
    )
    return (about @ base)[:2]


def crop_face(image: np.ndarray, center: np.ndarray, scale: float, resolution: int) -> np.ndarray:
    """The inference crop, pixel for pixel as face-alignment's ``crop``: the integer window
    (black outside the image) resized linearly to ``resolution`` x ``resolution``."""
    ul, br = crop_window(center, scale, resolution)
    height, width = image.shape[:2]
    canvas = np.zeros((br[1] - ul[1], br[0] - ul[0], *image.shape[2:]), dtype=image.dtype)
    src_x, src_y = (max(ul[0], 0), min(br[0], width)), (max(ul[1], 0), min(br[1], height))
    if src_x[0] < src_x[1] and src_y[0] < src_y[1]:
        canvas[src_y[0] - ul[1] : src_y[1] - ul[1], src_x[0] - ul[0] : src_x[1] - ul[0]] = image[
            src_y[0] : src_y[1], src_x[0] : src_x[1]
        ]
    return cv2.resize(canvas, (resolution, resolution), interpolation=cv2.INTER_LINEAR)


def crop(image: np.ndarray, matrix: np.ndarray, resolution: int) -> np.ndarray:
    """Sample a ``(resolution, resolution, 3)`` crop; outside the image is black."""
    return cv2.warpAffine(
        image, matrix, (resolution, resolution), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )


def target_heatmaps(points_hm: np.ndarray, size: int, sigma: float = SIGMA) -> np.ndarray:
    """Gaussian targets ``(..., N, size, size)`` float32 for heatmap coordinates ``(..., N, 2)``.

    Each landmark gets a Gaussian of ``sigma`` heatmap pixels, centred at pixel ``u - 0.5``
    (so that decoding returns ``u``) and cut to a 7x7 patch around its nearest pixel.
    """
    p = np.asarray(points_hm, dtype=np.float64) - 0.5
    grid = np.arange(size, dtype=np.float64)
    dx = grid - p[..., 0:1]
    dy = grid - p[..., 1:2]
    gx = np.exp(-0.5 * (dx / sigma) ** 2) * (np.abs(grid - np.round(p[..., 0:1])) <= PATCH_RADIUS)
    gy = np.exp(-0.5 * (dy / sigma) ** 2) * (np.abs(grid - np.round(p[..., 1:2])) <= PATCH_RADIUS)
    return np.minimum(gy[..., :, None] * gx[..., None, :], 1.0).astype(np.float32)


DECODERS = ("face-alignment", "subpixel")


def decode(
    heatmaps: np.ndarray,
    center: np.ndarray | None = None,
    scale: np.ndarray | None = None,
    quantize: bool = False,
    method: str = "face-alignment",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """face-alignment's ``get_preds_fromhm``, vectorised, or its sub-pixel refinement.

    ``heatmaps`` ``(B, N, H, W)`` -> heatmap coordinates ``(B, N, 2)`` (argmax, moved 0.25 px
    toward the larger neighbour, as ``k + 0.5``; ``method="subpixel"``: moved instead to the peak
    of the quadratic through the log-heatmap around the argmax, exact for a Gaussian peak),
    image coordinates ``(B, N, 2)`` (when centre and scale are given; face-alignment truncates
    them to integers, ``quantize=True``) and the peak values ``(B, N)`` as confidence.
    """
    if method not in DECODERS:
        raise ValueError(f"unknown heatmap decoder {method!r}; choose one of {DECODERS}")
    hm = np.asarray(heatmaps, dtype=np.float32)
    b, n, h, w = hm.shape
    flat = hm.reshape(b, n, h * w)
    idx = flat.argmax(axis=-1)
    scores = np.take_along_axis(flat, idx[..., None], axis=-1)[..., 0]
    x, y = idx % w, idx // w
    preds = np.stack([x, y], axis=-1).astype(np.float32)
    inner = (x > 0) & (x < w - 1) & (y > 0) & (y < h - 1)
    xi, yi = np.clip(x, 1, w - 2), np.clip(y, 1, h - 2)
    bi, ni = np.indices((b, n))
    diff = np.stack(
        [hm[bi, ni, yi, xi + 1] - hm[bi, ni, yi, xi - 1], hm[bi, ni, yi + 1, xi] - hm[bi, ni, yi - 1, xi]], -1
    )
    shift = np.sign(diff) * 0.25
    if method == "subpixel":
        shift = np.where(inner[..., None], _quadratic_peak(hm, bi, ni, xi, yi), shift)
    preds += np.where(inner[..., None], shift, 0.0).astype(np.float32)
    preds += 0.5
    image = np.zeros_like(preds, dtype=np.float64)
    if center is not None and scale is not None:
        image = from_crop(preds, center, scale, h)
        if quantize:
            image = np.trunc(image)
    return preds, image, scores


def _quadratic_peak(hm: np.ndarray, bi: np.ndarray, ni: np.ndarray, xi: np.ndarray, yi: np.ndarray) -> np.ndarray:
    """Offset ``(B, N, 2)`` from the argmax ``(xi, yi)`` to the maximum of the second-order Taylor
    expansion of the log-heatmap there (Newton step, clipped to one pixel); face-alignment's
    quarter-pixel shift where the log-heatmap is not concave."""
    log = np.log(np.maximum(hm, 1e-10).astype(np.float64))

    def at(dx: int, dy: int) -> np.ndarray:
        return log[bi, ni, yi + dy, xi + dx]

    gx, gy = (at(1, 0) - at(-1, 0)) / 2, (at(0, 1) - at(0, -1)) / 2
    hxx, hyy = at(1, 0) - 2 * at(0, 0) + at(-1, 0), at(0, 1) - 2 * at(0, 0) + at(0, -1)
    hxy = (at(1, 1) - at(-1, 1) - at(1, -1) + at(-1, -1)) / 4
    det = hxx * hyy - hxy**2
    concave = (hxx < 0) & (det > 1e-12)
    safe = np.where(concave, det, 1.0)
    offset = np.stack([-(hyy * gx - hxy * gy) / safe, -(hxx * gy - hxy * gx) / safe], axis=-1)
    fallback = np.sign(np.stack([gx, gy], axis=-1)) * 0.25
    return np.where(concave[..., None], np.clip(offset, -1.0, 1.0), fallback)
