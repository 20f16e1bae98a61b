"""The S3FD face detector against face-alignment's: same weights file, same outputs, same boxes."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from face_alignment.detection.sfd.net_s3fd import s3fd as FaS3FD
from face_alignment.detection.sfd.sfd_detector import SFDDetector as FaSFDDetector

from neuroface.errors import InputError
from neuroface.fan.detection import (
    SFD_FILE,
    HaarDetector,
    SFDDetector,
    locate_sfd,
    make_detector,
)
from neuroface.fan.weights import sha256
from neuroface.synthetic.photo import Appearance, FaceRenderer, load_base_faces, place_landmarks


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """face-alignment's S3FD with seeded random weights, saved as its weights file is (a plain
    state_dict), under a torch.hub-style name carrying the start of its SHA-256."""
    torch.manual_seed(0)
    net = FaS3FD()
    tmp = tmp_path_factory.mktemp("sfd") / "s3fd.pth"
    torch.save(net.state_dict(), tmp)
    path = tmp.with_name(f"s3fd-{sha256(tmp)[:10]}.pth")
    tmp.rename(path)
    return path


@pytest.fixture(scope="module")
def face():
    """A rendered synthetic face (small, to keep the VGG trunk quick on a CPU)."""
    base = load_base_faces()[0]
    target = place_landmarks(base.landmarks, (80.0, 60.0), 30.0, 0.0)
    return FaceRenderer(base, Appearance(), out_shape=(120, 160)).render(target)


def test_same_raw_outputs_and_boxes_as_face_alignment(weights, face):
    mine = make_detector({"detector": "sfd", "sfd": {"path": str(weights), "sha256": None}}, "cpu")
    assert isinstance(mine, SFDDetector)
    reference = FaSFDDetector("cpu", path_to_detector=str(weights))
    # raw network outputs on the same mean-subtracted BGR input: bit for bit
    x = torch.from_numpy(face[..., ::-1].transpose(2, 0, 1).copy()).float()[None]
    x = x - torch.tensor([104.0, 117.0, 123.0]).view(1, 3, 1, 1)
    with torch.no_grad():
        ours, theirs = mine.network(x), reference.face_detector(x)
    assert len(ours) == len(theirs) == 12
    for a, b in zip(ours, theirs, strict=True):
        assert a.shape == b.shape and torch.equal(a, b)
    # detected faces after decoding, NMS and the 0.5 threshold: identical
    faces = mine.detect(face)
    expected = np.array(reference.detect_from_image(face.copy()))
    assert len(faces) > 0  # random weights still pass the threshold somewhere: the comparison bites
    np.testing.assert_array_equal(faces, expected)
    # the face to track is the largest of them
    area = (expected[:, 2] - expected[:, 0]) * (expected[:, 3] - expected[:, 1])
    np.testing.assert_array_equal(mine(face), expected[np.argmax(area), :4])


def test_weights_rules(weights, tmp_path, monkeypatch):
    # a wrong checksum, configured or in the name, is refused
    with pytest.raises(InputError, match="checksum mismatch"):
        make_detector({"detector": "sfd", "sfd": {"path": str(weights), "sha256": "0" * 64}})
    renamed = tmp_path / "s3fd-0123456789.pth"
    shutil.copy(weights, renamed)
    with pytest.raises(InputError, match="checksum mismatch"):
        SFDDetector.from_file(renamed)
    # another network's weights (here 2DFAN-style keys) are refused with the file named
    other = tmp_path / "other.pth"
    torch.save({"conv1.weight": torch.zeros(1)}, other)
    with pytest.raises(InputError, match="not S3FD weights") as err:
        SFDDetector.from_file(other)
    assert str(other) in str(err.value)
    # pickled objects are refused (weights_only)
    unsafe = tmp_path / "unsafe.pth"
    torch.save({"w": torch.zeros(1), "obj": np.dtype("float64")}, unsafe)
    with pytest.raises(InputError, match="not a loadable weights file"):
        SFDDetector.from_file(unsafe)
    # an explicit path never falls back to face-alignment's cache, even when the cache has the file
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # torch.hub's cache is then tmp_path/hub
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    shutil.copy(weights, tmp_path / "hub" / "checkpoints" / SFD_FILE)
    with pytest.raises(InputError, match="tracking.sfd.path"):
        locate_sfd(str(tmp_path / "missing.pth"))
    assert locate_sfd(None) == tmp_path / "hub" / "checkpoints" / SFD_FILE


def test_haar_is_the_default():
    assert isinstance(make_detector({}), HaarDetector)
    assert isinstance(make_detector({"detector": "haar"}), HaarDetector)
    with pytest.raises(ValueError, match="unknown face detector"):
        make_detector({"detector": "dlib"})
