"""Geometry against librealsense itself (pyrealsense2's rsutil bindings and rs.align; the ``rs`` fixture of
conftest.py skips naming libusb-1.0-0 where it is missing)."""

from __future__ import annotations

from dataclasses import replace
from types import ModuleType

import numpy as np
import pytest

from conftest import COLOR_INTR, DEPTH_INTR, synthetic_frames, write_bag
from neuroface.realsense import geometry
from neuroface.realsense.camera import Distortion, Extrinsics, Intrinsics

COEFFS = {
    Distortion.NONE: (0.0, 0.0, 0.0, 0.0, 0.0),
    Distortion.INVERSE_BROWN_CONRADY: (0.11, -0.05, 0.0012, 0.002, 0.01),
    Distortion.BROWN_CONRADY: (0.09, -0.04, -0.001, 0.0015, 0.008),
    Distortion.KANNALA_BRANDT4: (0.05, -0.01, 0.002, -0.001, 0.0),
    Distortion.FTHETA: (0.9, 0.0, 0.0, 0.0, 0.0),
}


def rs_intrinsics(rs: ModuleType, i: Intrinsics):
    r = rs.intrinsics()
    r.width, r.height, r.ppx, r.ppy, r.fx, r.fy = i.width, i.height, i.ppx, i.ppy, i.fx, i.fy
    r.model, r.coeffs = rs.distortion(int(i.model)), list(i.coeffs)
    return r


@pytest.mark.parametrize("model", list(COEFFS))
def test_deproject_and_project_match_librealsense(rs, model):
    intr = Intrinsics(640, 480, 320.5, 240.2, 600.0, 601.0, model, COEFFS[model])
    ri = rs_intrinsics(rs, intr)
    rng = np.random.default_rng(1)
    pixels = rng.uniform([0, 0], [640, 480], (300, 2))
    depth = rng.uniform(0.3, 0.6, 300)
    ours = geometry.deproject(pixels, depth, intr)
    ref = np.array(
        [
            rs.rs2_deproject_pixel_to_point(ri, [float(x), float(y)], float(z))
            for (x, y), z in zip(pixels, depth, strict=True)
        ]
    )
    # rsutil.h's float32 arithmetic is reproduced; only the trigonometric models differ in the last ulp
    tol = 0.0 if model in (Distortion.NONE, Distortion.INVERSE_BROWN_CONRADY, Distortion.BROWN_CONRADY) else 2e-7
    np.testing.assert_allclose(ours, ref, rtol=0, atol=tol)
    back = geometry.project(ref, intr)
    ref_px = np.array([rs.rs2_project_point_to_pixel(ri, [float(v) for v in p]) for p in ref])
    np.testing.assert_allclose(back, ref_px, rtol=0, atol=0 if tol == 0 else 2e-4)


def test_modified_brown_conrady_cannot_be_deprojected():
    intr = Intrinsics(640, 480, 320, 240, 600, 600, Distortion.MODIFIED_BROWN_CONRADY)
    with pytest.raises(ValueError, match="forward-distorted"):
        geometry.deproject(np.zeros((1, 2)), np.ones(1), intr)


def test_transform_matches_librealsense(rs):
    ext = Extrinsics.from_quaternion(np.array([0.01, -0.02, 0.005, 1.0]), np.array([0.015, -0.001, 0.002]))
    e = rs.extrinsics()
    e.rotation, e.translation = ext.rs2_rotation, list(ext.translation)
    pts = np.random.default_rng(2).uniform(-0.3, 0.6, (50, 3))
    ref = np.array([rs.rs2_transform_point_to_point(e, [float(v) for v in p]) for p in pts])
    np.testing.assert_allclose(geometry.transform(pts, ext), ref, rtol=0, atol=1e-7)


@pytest.mark.parametrize("model", [Distortion.NONE, Distortion.BROWN_CONRADY, Distortion.INVERSE_BROWN_CONRADY])
def test_deproject_aligned_returns_the_point_whose_depth_camera_z_was_stored(rs, model):
    """librealsense's own transform and projection: a colour-frame point, its depth-camera z (what aligned depth
    holds at its colour pixel) and that pixel give the point back; the study's plain deprojection misses it by
    about the translation's z component (4 mm, an SR300's baseline)."""
    color = Intrinsics(640, 480, 310.2, 245.3, 617.0, 616.0, model, COEFFS[model])
    depth_to_color = Extrinsics.from_quaternion(np.array([0.002, 0.003, 0.001, 1.0]), np.array([0.0257, 0.0007, 0.004]))
    to_depth = rs.extrinsics()
    inverse = depth_to_color.inverse()
    to_depth.rotation, to_depth.translation = inverse.rs2_rotation, [float(v) for v in inverse.translation]
    rng = np.random.default_rng(3)
    points_m = np.column_stack([rng.uniform(-0.08, 0.08, (40, 2)), rng.uniform(0.3, 0.6, 40)])
    pixels = np.array(
        [rs.rs2_project_point_to_pixel(rs_intrinsics(rs, color), [float(v) for v in p]) for p in points_m]
    )
    z_depth_mm = 1000.0 * np.array(
        [rs.rs2_transform_point_to_point(to_depth, [float(v) for v in p])[2] for p in points_m]
    )
    exact = geometry.deproject_aligned(pixels, z_depth_mm, color, depth_to_color)
    np.testing.assert_allclose(exact, points_m * 1000.0, rtol=0, atol=2e-3)  # float32 pixels: micrometres
    study = geometry.deproject(pixels, z_depth_mm, color)
    miss = np.linalg.norm(study - points_m * 1000.0, axis=1)
    assert np.all((miss > 3.0) & (miss < 6.0)), miss
    none = geometry.deproject_aligned(pixels[:2], np.array([np.nan, 500.0]), color, depth_to_color)
    assert np.isnan(none[0]).all() and np.isfinite(none[1]).all()


def test_extrinsics_quaternion_round_trip_and_inverse():
    ext = Extrinsics.from_quaternion(np.array([0.3, -0.2, 0.1, 0.9]), np.array([0.1, 0.2, 0.3]))
    again = Extrinsics.from_quaternion(ext.quaternion(), ext.translation)
    np.testing.assert_allclose(again.rotation, ext.rotation, atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(ext.rotation), 1.0, atol=1e-12)
    ident = ext.compose(ext.inverse())
    np.testing.assert_allclose(ident.rotation, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(ident.translation, 0, atol=1e-12)
    # rs2 rotation is the same matrix, column-major
    np.testing.assert_allclose(Extrinsics.from_rs2(ext.rs2_rotation, ext.translation).rotation, ext.rotation)
    assert ext.rs2_rotation[1] == pytest.approx(ext.rotation[1, 0])


def _align_with_librealsense(rs: ModuleType, bag):
    pipe, cfg = rs.pipeline(), rs.config()
    cfg.enable_device_from_file(str(bag), repeat_playback=False)
    profile = pipe.start(cfg)
    profile.get_device().as_playback().set_real_time(False)
    try:
        frames = pipe.wait_for_frames(5000)
        depth = frames.get_depth_frame()
        aligned = rs.align(rs.stream.color).process(frames).get_depth_frame()
        d = depth.profile.as_video_stream_profile()
        c = frames.get_color_frame().profile.as_video_stream_profile()
        e = d.get_extrinsics_to(c)

        def intr(p):
            i = p.get_intrinsics()
            return Intrinsics(i.width, i.height, i.ppx, i.ppy, i.fx, i.fy, Distortion(int(i.model)), tuple(i.coeffs))

        ours = geometry.align_depth_to_color(
            np.asanyarray(depth.get_data()).copy(),
            depth.get_units(),
            intr(d),
            Extrinsics.from_rs2(e.rotation, e.translation),
            intr(c),
        )
        return ours, np.asanyarray(aligned.get_data()).copy()
    finally:
        pipe.stop()


@pytest.mark.parametrize("which", ["small", "reference"])
def test_align_depth_to_color_matches_rs_align_exactly(rs, which, request):
    """Equal to librealsense's rs.align pixel for pixel (the small bag's colour stream has
    Inverse Brown-Conrady coefficients; the reference's are zero)."""
    ours, ref = _align_with_librealsense(rs, request.getfixturevalue(f"{which}_bag"))
    assert ref.any()
    np.testing.assert_array_equal(ours, ref)


IBC, BC = Distortion.INVERSE_BROWN_CONRADY, Distortion.BROWN_CONRADY


@pytest.mark.parametrize(
    ("depth_model", "color_model"),
    [(IBC, Distortion.NONE), (BC, Distortion.NONE), (Distortion.NONE, BC), (IBC, IBC)],
    ids=["depth-inverse-brown-conrady", "depth-brown-conrady", "colour-brown-conrady", "both-inverse"],
)
def test_align_matches_rs_align_with_distortion_coefficients_on_either_stream(rs, tmp_path, depth_model, color_model):
    """Non-zero coefficients where the small bag has none (an SR300's depth stream is Inverse Brown-Conrady; L515-like
    colour Brown-Conrady): librealsense's align deprojects and projects these its own way, not as rsutil's
    rs2_deproject_pixel_to_point does. Before, an Inverse Brown-Conrady depth stream left most colour pixels off."""
    depth_intr = replace(DEPTH_INTR, model=depth_model, coeffs=COEFFS[depth_model])
    color_intr = replace(COLOR_INTR, model=color_model, coeffs=COEFFS[color_model])
    path = write_bag(tmp_path / "distorted.bag", synthetic_frames(2), color_intr=color_intr, depth_intr=depth_intr)
    ours, ref = _align_with_librealsense(rs, path)
    assert ref.any()
    np.testing.assert_array_equal(ours, ref)


def _align_ray(x: np.float32, y: np.float32, intr: Intrinsics) -> tuple[np.float32, np.float32]:
    """One depth pixel's ray at z = 1 as librealsense's align block computes it, written out for one pixel: the
    pinhole for Brown-Conrady (its distortion ignored), one pass of the polynomial for Inverse Brown-Conrady."""
    f32 = np.float32
    u, v = (x - f32(intr.ppx)) / f32(intr.fx), (y - f32(intr.ppy)) / f32(intr.fy)
    if Distortion(intr.model) != IBC:
        return u, v
    k1, k2, p1, p2, k3 = (f32(c) for c in intr.coeffs)
    r2 = u * u + v * v
    f = 1 + k1 * r2 + k2 * r2 * r2 + k3 * r2 * r2 * r2
    return u * f + 2 * p1 * u * v + p2 * (r2 + 2 * u * u), v * f + 2 * p2 * u * v + p1 * (r2 + 2 * v * v)


def _align_pixel_by_pixel(raw, depth_scale, depth_intr, extr, color_intr):
    """rs.align's loop written out per depth pixel: each footprint corner's ray (:func:`_align_ray`) scaled by the
    depth, transformed and projected (Brown-Conrady and Inverse Brown-Conrady colour without distortion) one at a
    time, every covered colour pixel inside the image set to the nearest value."""
    assert Distortion(depth_intr.model) in (Distortion.NONE, BC, IBC)
    if Distortion(color_intr.model) in (BC, IBC):
        color_intr = replace(color_intr, model=Distortion.NONE)
    out = np.zeros((color_intr.height, color_intr.width), np.uint16)
    for y, x in zip(*np.nonzero(raw), strict=True):
        z = np.float32(raw[y, x]) * np.float32(depth_scale)
        corners = []
        for o in (np.float32(-0.5), np.float32(0.5)):
            rx, ry = _align_ray(np.float32(x) + o, np.float32(y) + o, depth_intr)
            point = np.array([z * rx, z * ry, z], np.float32)
            pixel = geometry.project(geometry.transform(point, extr), color_intr)
            corners.append(np.trunc(pixel + np.float32(0.5)).astype(int))
        (x0, y0), (x1, y1) = corners
        for cy in range(max(y0, 0), min(y1, color_intr.height - 1) + 1):
            for cx in range(max(x0, 0), min(x1, color_intr.width - 1) + 1):
                if out[cy, cx] == 0 or raw[y, x] < out[cy, cx]:
                    out[cy, cx] = raw[y, x]
    return out


@pytest.mark.parametrize("roi", [None, (3, 2, 21, 14)])
def test_align_depth_to_color_equals_a_pixel_by_pixel_alignment_with_wide_clipped_footprints(roi):
    """Footprints 3-5 colour pixels wide (a colour camera with ~3x the depth camera's focal length),
    many of them running over the image's edges, a distorted depth stream and holes: the vectorised
    alignment (cached rays, footprints clipped once) equals the per-pixel loop."""
    depth_intr = Intrinsics(24, 16, 11.7, 7.9, 20.0, 20.5, IBC, COEFFS[IBC])
    color_intr = Intrinsics(64, 40, 30.2, 19.6, 61.0, 60.0, BC, COEFFS[BC])
    extr = Extrinsics.from_quaternion(np.array([0.01, -0.02, 0.005, 1.0]), np.array([0.015, -0.002, 0.001]))
    rng = np.random.default_rng(5)
    raw = rng.integers(300, 900, (16, 24)).astype(np.uint16)
    raw[rng.random(raw.shape) < 0.15] = 0
    ours = geometry.align_depth_to_color(raw, 0.001, depth_intr, extr, color_intr, roi)
    if roi is not None:
        x0, y0, x1, y1 = roi
        raw = np.where(np.pad(np.ones((y1 - y0, x1 - x0), bool), ((y0, 16 - y1), (x0, 24 - x1))), raw, 0)
    ref = _align_pixel_by_pixel(raw, 0.001, depth_intr, extr, color_intr)
    assert ref.any() and (ref == 0).any()
    np.testing.assert_array_equal(ours, ref)
