"""FAN against face-alignment (the library that defines it), and its loss against closed forms."""

from __future__ import annotations

import contextlib
import hashlib
import re
import sys

import cv2
import numpy as np
import pytest
import torch
from face_alignment import utils as fa_utils
from face_alignment.models.fan import FAN as FaceAlignmentFAN

from conftest import REPO
from neuroface import landmarks as lm
from neuroface.errors import InputError
from neuroface.fan import heatmaps
from neuroface.fan.loss import adaptive_wing, loss_weight_map, weighted_adaptive_wing
from neuroface.fan.model import FAN, FANConfig
from neuroface.fan.predict import LandmarkPredictor, resolve_cpu_inference
from neuroface.fan.train import (
    Augmentation,
    Sample,
    TrainingConfig,
    freeze_all_but_last_stacks,
    make_example,
    train,
)
from neuroface.fan.weights import file_architecture, load_fan, load_state_dict, save_fan, verify_checksum


def _randomise_batchnorm(model: torch.nn.Module) -> None:
    gen = torch.Generator().manual_seed(3)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=gen) * 0.2 - 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)


@pytest.fixture(scope="module")
def fan4_pair():
    torch.manual_seed(0)
    theirs = FaceAlignmentFAN(4)
    _randomise_batchnorm(theirs)
    ours = FAN(FANConfig())
    return ours, theirs.eval()


def test_state_dict_matches_face_alignment_fan4(fan4_pair):
    ours, theirs = fan4_pair
    a, b = ours.state_dict(), theirs.state_dict()
    assert list(a) == list(b)
    assert all(a[k].shape == b[k].shape for k in a)


def test_same_heatmaps_as_face_alignment_both_ways(fan4_pair):
    ours, theirs = fan4_pair
    ours.load_state_dict(theirs.state_dict())
    x = torch.rand(2, 3, 256, 256, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        mine, ref = ours.eval()(x), theirs(x)
        assert len(mine) == len(ref) == 4
        for a, b in zip(mine, ref, strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=0)  # same operations, same order: identical
        back = FaceAlignmentFAN(4)
        back.load_state_dict(ours.state_dict())
        torch.testing.assert_close(back.eval()(x)[-1], mine[-1], rtol=0, atol=0)


def test_small_config_shapes():
    cfg = FANConfig(stacks=2, features=64, depth=4, input_size=128)
    out = FAN(cfg)(torch.rand(1, 3, 128, 128))
    assert [o.shape for o in out] == [(1, 68, 32, 32)] * 2
    with pytest.raises(ValueError, match="divisible"):
        FANConfig(input_size=96)


def test_the_architecture_check_accepts_exactly_the_input_sizes_the_network_runs_on():
    """FANConfig's rule (input_size divisible by 4 * 2**depth), which the workflow applies to the
    config before any job without PyTorch, against the network itself: over input sizes that are
    multiples of 4 (the heatmap is input_size / 4), a size is accepted iff a forward pass runs and
    gives input_size / 4 heatmaps."""
    for depth in (1, 2, 3):
        net = FAN(FANConfig(stacks=1, features=8, depth=depth, input_size=4 * 2**depth)).eval()
        for size in range(16, 100, 4):
            try:
                FANConfig(stacks=1, features=8, depth=depth, input_size=size)
                accepted = True
            except ValueError:
                accepted = False
            try:
                with torch.no_grad():
                    runs = net(torch.rand(1, 3, size, size))[-1].shape[-2:] == (size // 4, size // 4)
            except RuntimeError:  # the hourglass's upsampled branch does not match its skip
                runs = False
            assert accepted == runs, (depth, size)


def test_architecture_of_a_weights_file_without_torch(tmp_path):
    """The DAG reads a weights file's architecture from its sidecar, without loading PyTorch; a file
    without one (face-alignment's 2DFAN-4) is the study's FAN(4); a broken sidecar names itself."""
    import subprocess

    cfg = FANConfig(stacks=2, features=16, depth=2, input_size=32)
    save_fan(FAN(cfg), tmp_path / "ours.pth")
    (tmp_path / "2DFAN4.pth.tar").write_bytes(b"")
    code = (
        "import sys; from neuroface.fan.weights import file_architecture as a; "
        f"print(a({str(tmp_path / 'ours.pth')!r}).to_dict(), a({str(tmp_path / '2DFAN4.pth.tar')!r}).stacks, "
        "'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == f"{cfg.to_dict()} 4 False"
    assert load_fan(tmp_path / "ours.pth").config == file_architecture(tmp_path / "ours.pth") == cfg
    (tmp_path / "ours.pth.json").write_text('{"config": {"stacks": 2, "input_size": 30}}')
    with pytest.raises(InputError, match=r"ours\.pth\.json.*divisible"):
        file_architecture(tmp_path / "ours.pth")


def test_decode_matches_get_preds_fromhm():
    rng = np.random.default_rng(0)
    hm = rng.random((3, 68, 64, 64)).astype(np.float32)
    hm[0, 5] = 0
    hm[0, 5, 0, 10] = 1  # a peak on the border gets no quarter-pixel shift
    centers, scales = np.array([[320.0, 240], [100, 80], [400, 300]]), np.array([1.5, 0.8, 2.2])
    for i in range(3):
        p, p_img, score = fa_utils.get_preds_fromhm(hm[i : i + 1].copy(), centers[i], scales[i])
        q, q_img, q_score = heatmaps.decode(hm[i : i + 1], centers[i : i + 1], scales[i : i + 1], quantize=True)
        np.testing.assert_array_equal(q, p)
        np.testing.assert_array_equal(q_img, p_img)
        np.testing.assert_array_equal(q_score, score)
    # unquantised image coordinates differ from face-alignment's integer ones by less than a pixel
    _, exact, _ = heatmaps.decode(hm[:1], centers[:1], scales[:1])
    _, p_img, _ = fa_utils.get_preds_fromhm(hm[:1].copy(), centers[0], scales[0])
    assert np.abs(exact - p_img).max() < 1.0


@pytest.mark.parametrize("box", [[200, 150, 380, 360], [-20, -10, 150, 200], [500, 300, 700, 520]])
def test_crop_matches_face_alignment(box):
    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur(rng.integers(0, 256, (480, 640, 3)).astype(np.uint8), (0, 0), 3)
    center, scale = heatmaps.center_scale(np.array(box, dtype=float))
    theirs = fa_utils.crop(image, center, scale, 256.0)
    np.testing.assert_array_equal(heatmaps.crop_face(image, center, scale, 256), theirs)  # inference crop
    training = heatmaps.crop(image, heatmaps.crop_matrix(center, scale, 256), 256)  # augmentable, same window
    diff = np.abs(theirs.astype(int) - training.astype(int))
    assert diff.max() <= 2 and diff.mean() < 0.2  # warpAffine vs resize rounding


def test_target_heatmaps_decode_back_to_the_landmarks():
    rng = np.random.default_rng(1)
    u = rng.uniform(4, 60, (68, 2))
    target = heatmaps.target_heatmaps(u, 64)
    assert target.max() <= 1.0 and target.shape == (68, 64, 64)
    peak = np.unravel_index(target.reshape(68, -1).argmax(-1), (64, 64))
    np.testing.assert_array_equal(np.stack(peak[::-1], -1), np.round(u - 0.5))
    decoded, _, _ = heatmaps.decode(target[None])
    assert np.abs(decoded[0] - u).max() <= 0.75  # argmax + quarter-pixel refinement
    sigma = np.sqrt((target[0] * ((np.arange(64) - (u[0, 0] - 0.5)) ** 2)[None, :]).sum() / target[0].sum())
    assert abs(sigma - heatmaps.SIGMA) < 0.3  # 7x7 patch of sigma 1.75 px


def test_subpixel_decoding_recovers_gaussian_peaks_exactly():
    rng = np.random.default_rng(2)
    u = rng.uniform(4, 28, (68, 2))
    target = heatmaps.target_heatmaps(u, 32)
    fa, _, _ = heatmaps.decode(target[None])
    sub, _, scores = heatmaps.decode(target[None], method="subpixel")
    assert np.abs(sub[0] - u).max() < 1e-3  # the log of a Gaussian is quadratic
    assert np.abs(fa[0] - u).max() > 0.2  # face-alignment's quarter-pixel steps are not
    # noisy peaks stay within a pixel of the quarter-pixel answer; borders and flat maps are left alone
    noisy = target[None] + rng.uniform(0, 0.05, target[None].shape).astype(np.float32)
    assert np.abs(heatmaps.decode(noisy, method="subpixel")[0] - heatmaps.decode(noisy)[0]).max() <= 1.0
    flat = np.zeros((1, 2, 8, 8), np.float32)
    flat[0, 1, 0, 3] = 1.0
    np.testing.assert_array_equal(heatmaps.decode(flat, method="subpixel")[0], heatmaps.decode(flat)[0])
    with pytest.raises(ValueError, match="decoder"):
        heatmaps.decode(flat, method="soft-argmax")


def _awing_closed_form(y, p, a=2.1, w=14.0, e=1.0, t=0.5):
    d = abs(y - p)
    if d < t:
        return w * np.log(1 + (d / e) ** (a - y))
    big_a = w * (1 / (1 + (t / e) ** (a - y))) * (a - y) * (t / e) ** (a - y - 1) / e
    return big_a * d - (t * big_a - w * np.log(1 + (t / e) ** (a - y)))


@pytest.mark.parametrize(("y", "p"), [(0.0, 0.1), (0.0, 0.7), (1.0, 0.9), (1.0, 0.2), (0.5, 0.5), (0.3, -0.4)])
def test_adaptive_wing_closed_form(y, p):
    got = adaptive_wing(torch.tensor([p], dtype=torch.float64), torch.tensor([y], dtype=torch.float64))
    assert got.item() == pytest.approx(_awing_closed_form(y, p), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("y", [0.0, 0.4, 1.0])
def test_adaptive_wing_is_continuous_and_smooth_at_theta(y):
    eps = 1e-7
    p = torch.tensor([y - 0.5 + eps, y - 0.5 - eps], dtype=torch.float64, requires_grad=True)
    loss = adaptive_wing(p, torch.full((2,), y, dtype=torch.float64))
    assert abs(loss[0].item() - loss[1].item()) < 1e-5
    loss.sum().backward()
    assert abs(p.grad[0].item() - p.grad[1].item()) < 1e-4
    z = torch.tensor([y], dtype=torch.float64, requires_grad=True)
    adaptive_wing(z, torch.tensor([y], dtype=torch.float64)).sum().backward()
    assert torch.isfinite(z.grad).all()  # d = 0


def test_weight_map_definition():
    target = torch.zeros(1, 1, 8, 8)
    target[0, 0, 4, 4] = 0.5
    target[0, 0, 1, 1] = 0.1  # below the threshold even after dilation
    w = loss_weight_map(target)
    expected = torch.ones(8, 8)
    expected[3:6, 3:6] = 11.0
    torch.testing.assert_close(w[0, 0], expected)
    pred = torch.rand(1, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    manual = (adaptive_wing(pred, target) * expected).mean()
    torch.testing.assert_close(weighted_adaptive_wing(pred, target), manual)


def test_flip_swaps_mirror_pairs_and_mirrors_x():
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (200, 200, 3)).astype(np.uint8)
    pts = rng.uniform(60, 140, (68, 2))
    params = {"zoom": 1.0, "rotation": 0.0, "gain": np.ones(3, np.float32), "jitter": np.zeros(3)}
    x0, t0 = make_example(image, pts, np.array([50.0, 50, 150, 150]), 128, 32, {**params, "flip": False})
    x1, t1 = make_example(image, pts, np.array([50.0, 50, 150, 150]), 128, 32, {**params, "flip": True})
    np.testing.assert_allclose(x1, x0[:, :, ::-1], atol=1 / 255 + 1e-6)
    np.testing.assert_allclose(t1, t0[list(lm.MIRROR)][:, :, ::-1], atol=1e-5)
    assert lm.MIRROR[36] == 45 and lm.MIRROR[48] == 54 and lm.MIRROR[8] == 8


def _toy_samples(n=6):
    rng = np.random.default_rng(3)
    out = []
    for k in range(n):
        image = rng.integers(0, 256, (160, 160, 3)).astype(np.uint8)
        pts = rng.uniform(40, 120, (68, 2))
        out.append(Sample(lambda image=image: image, pts, str(k)))
    return out


#: face-alignment's FAN parameter names: a stack's layers end in the stack's index (m0., top_m_0., conv_last0.,
#: bn_end0., l0., and bl0., al0. feeding the next stack); the stem's do not (conv1-conv4, bn1).
_STACK_LAYER = re.compile(r"^(m|top_m_|conv_last|bn_end|l|bl|al)(\d+)\.")


def _stack_of(name: str) -> int | None:
    """The stack a parameter or buffer belongs to, or None for the stem."""
    match = _STACK_LAYER.match(name)
    return int(match.group(2)) if match else None


def _in_stacks_from(name: str, first: int) -> bool:
    """Whether a parameter or buffer belongs to stack ``first`` or a later one (never the stem)."""
    stack = _stack_of(name)
    return stack is not None and stack >= first


@pytest.mark.parametrize(("stacks", "trained"), [(2, 1), (3, 2), (2, 2)])
def test_freezing_leaves_exactly_the_last_stacks_trainable(stacks, trained):
    model = FAN(FANConfig(stacks=stacks, features=16, depth=2, input_size=32))
    names = freeze_all_but_last_stacks(model, trained)
    want = {n for n, _ in model.named_parameters() if _in_stacks_from(n, stacks - trained)}
    assert set(names) == want and all(p.requires_grad == (n in want) for n, p in model.named_parameters())
    assert not any(_stack_of(n) is None for n in names)  # the stem is never trained
    with pytest.raises(ValueError, match=f"has {stacks} stack"):
        freeze_all_but_last_stacks(model, stacks + 1)


@pytest.mark.parametrize("trained", [1, 2])
def test_fine_tuning_changes_only_the_last_stacks_and_is_deterministic(trained):
    """Fine-tuning with ``trained_stacks`` (the study: 1) changes the last stacks' weights and batch-norm
    statistics, leaves the stem and earlier stacks bit-identical, and is seeded."""
    cfg = FANConfig(stacks=3, features=16, depth=2, input_size=32)
    torch.manual_seed(0)
    start = FAN(cfg)
    before = {k: v.clone() for k, v in start.state_dict().items()}
    results = []
    for _ in range(2):
        model = FAN(cfg)
        model.load_state_dict(before)
        train(
            model,
            _toy_samples(),
            TrainingConfig(
                epochs=2,
                batch_size=3,
                loss="awing",
                trained_stacks=trained,
                augmentation=Augmentation(),
                seed=5,
                threads=1,
            ),
            progress=False,
        )
        results.append(model.state_dict())
    changed = {k for k in before if not torch.equal(before[k], results[0][k])}
    trained_layers = {k for k in before if _in_stacks_from(k, cfg.stacks - trained)}
    assert changed and changed <= trained_layers  # frozen: bit-identical, BN statistics too
    for i in range(cfg.stacks - trained, cfg.stacks):  # every trained stack learns, BN statistics included
        assert any(_stack_of(k) == i and "running_mean" in k for k in changed), i
    assert all(torch.equal(results[0][k], results[1][k]) for k in before)  # seeded: same weights


def test_relu_in_place_trains_bit_for_bit_as_out_of_place(monkeypatch):
    """FAN applies its ReLUs in place on the batch norms' outputs; with every one of them forced out
    of place, training (all stacks, batch norm in training mode, Adaptive Wing) gives the same
    weights and statistics bit for bit."""
    import neuroface.fan.model as fan_model

    cfg = FANConfig(stacks=2, features=16, depth=2, input_size=32)
    torch.manual_seed(0)
    before = FAN(cfg).state_dict()
    calls = {True: 0, False: 0}

    class OutOfPlace:
        def __getattr__(self, name):
            return getattr(torch.nn.functional, name)

        @staticmethod
        def relu(x, inplace=False):
            calls[inplace] += 1
            return torch.nn.functional.relu(x)

    def trained(force_out_of_place: bool) -> dict:
        if force_out_of_place:
            monkeypatch.setattr(fan_model, "F", OutOfPlace())
        model = FAN(cfg)
        model.load_state_dict(before)
        config = TrainingConfig(epochs=2, batch_size=3, loss="awing", augmentation=Augmentation(), seed=5, threads=1)
        train(model, _toy_samples(), config, progress=False)
        monkeypatch.undo()
        return model.state_dict()

    in_place, out_of_place = trained(False), trained(True)
    assert calls[True] > 0  # the model asks for in-place ReLUs (here made out of place)
    assert any(not torch.equal(before[k], in_place[k]) for k in before)  # it trained
    assert all(torch.equal(in_place[k], out_of_place[k]) for k in before)


def test_weights_round_trip_checksum_and_safe_loading(tmp_path):
    cfg = FANConfig(stacks=2, features=16, depth=2, input_size=32)
    model = FAN(cfg).eval()
    path = tmp_path / "fan.pth"
    save_fan(model, path, {"note": "test"})
    save_fan(model, tmp_path / "copy.pth", {"note": "test"})
    assert path.read_bytes() == (tmp_path / "copy.pth").read_bytes()  # byte-reproducible files
    again = load_fan(path)
    assert again.config == cfg
    x = torch.rand(1, 3, 32, 32)
    torch.testing.assert_close(again(x)[-1], model(x)[-1])
    named = tmp_path / "2DFAN4-deadbeef00.pth.tar"
    named.write_bytes(path.read_bytes())
    with pytest.raises(InputError, match="checksum mismatch") as err:
        verify_checksum(named)
    assert "hash in the file's name" not in str(err.value)  # the name's hash is the wrong one: no hint
    # a configured checksum wins over the name's, and a mismatch says when the name's hash is right
    # (a lab that points fan.pretrained.path at 2DFAN-4 but keeps the demo model's sha256)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    right = tmp_path / f"2DFAN4-{digest[:10]}.pth.tar"
    right.write_bytes(path.read_bytes())
    verify_checksum(right)
    verify_checksum(right, digest)
    with pytest.raises(InputError, match=f"name, {digest[:10]}, matches it.*fan.pretrained.sha256: null"):
        verify_checksum(right, "efd4ed174f20", "fan.pretrained.sha256")
    with pytest.raises(InputError, match=r"another file's \(the configured sha256: null"):
        verify_checksum(right, "efd4ed174f20")
    evil = tmp_path / "evil.pth"
    torch.save({"weights": object()}, evil)
    with pytest.raises(InputError, match="not a loadable weights file"):
        load_state_dict(evil)  # weights_only=True refuses arbitrary objects


@pytest.mark.parametrize(
    "env",
    [{}, {"XDG_CACHE_HOME": "/x/cache"}, {"TORCH_HOME": "/t/home"}, {"TORCH_HOME": "~/th", "XDG_CACHE_HOME": "/x"}],
)
def test_weight_locations_follow_torch_hub_without_loading_it(env, tmp_path):
    """The torch.hub cache where face-alignment keeps 2DFAN-4 and S3FD, worked out as torch.hub.get_dir() does
    (the reference, in the same process, after the fact) without loading PyTorch: the DAG build looks there
    when fan.pretrained.path or tracking.sfd.path is null."""
    import os
    import subprocess

    code = (
        "import sys\n"
        "from neuroface.errors import InputError\n"
        "from neuroface.fan import weights\n"
        "found = [str(weights.hub_cache_path()), str(weights.hub_cache_path(weights.SFD_FILE))]\n"
        "for locate in (weights.locate_pretrained, weights.locate_sfd):\n"
        "    try:\n"
        "        locate(None)\n"
        "    except InputError:\n"
        "        pass\n"
        "loaded = 'torch' in sys.modules\n"
        "import torch\n"
        "hub = torch.hub.get_dir()\n"
        "print(loaded, found == [f'{hub}/checkpoints/{weights.FAN4_FILE}', f'{hub}/checkpoints/{weights.SFD_FILE}'])\n"
    )
    base = {k: v for k, v in os.environ.items() if k not in ("TORCH_HOME", "XDG_CACHE_HOME", "TORCH_HUB")}
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**base, **env}, cwd=tmp_path
    )
    assert run.stdout.split() == ["False", "True"], run.stdout + run.stderr


def test_download_verifies_the_checksum_in_the_name(tmp_path):
    from neuroface.fan.weights import download_pretrained, sha256

    cfg = FANConfig(stacks=2, features=16, depth=2, input_size=32)
    source = tmp_path / "src.pth"
    torch.save(FAN(cfg).state_dict(), source)
    good = tmp_path / f"FAN-{sha256(source)[:10]}.pth"
    good.write_bytes(source.read_bytes())
    dest = download_pretrained(tmp_path / "dl" / good.name, url=good.as_uri())
    assert dest.read_bytes() == source.read_bytes()
    bad = tmp_path / "FAN-0123456789.pth"
    bad.write_bytes(source.read_bytes())
    with pytest.raises(InputError, match="checksum mismatch"):
        download_pretrained(tmp_path / "dl2" / bad.name, url=bad.as_uri())
    assert not (tmp_path / "dl2" / bad.name).exists()  # nothing half-written or unverified is left


def test_provided_frame_images_are_collected_neuroface_style(tmp_path):
    import pandas as pd

    from neuroface.inputs.annotated import copy_annotated_frames

    images = tmp_path / "Frames"
    images.mkdir()
    (images / "A002_02_BBP_NORMAL_color.avi_7.jpg").write_bytes(b"jpeg-7")
    (images / "A002_02_BBP_NORMAL.avi_9.jpg").write_bytes(b"jpeg-9")
    ann = pd.DataFrame({"recording_id": ["A002_02_BBP_NORMAL"] * 2, "frame": [7, 9]})
    assert copy_annotated_frames(["A002_02_BBP_NORMAL"], ann, images, tmp_path / "out") == 2
    assert (tmp_path / "out" / "A002_02_BBP_NORMAL.avi_7.jpg").read_bytes() == b"jpeg-7"
    ann.loc[1, "frame"] = 10
    with pytest.raises(InputError, match="A002_02_BBP_NORMAL.avi_10.jpg: annotated frame image not found"):
        copy_annotated_frames(["A002_02_BBP_NORMAL"], ann, images, tmp_path / "out2")
    assert not (tmp_path / "out2").exists()


@contextlib.contextmanager
def _one_thread():
    """One intra-op thread, as each tracking job has (and seconds, not minutes, on a busy CPU)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def peaked_small_fan():
    """A small FAN whose last stack's heads are fitted to Gaussian targets on its own crops
    (tools/_fan_candidates.fit_last_head, as tools/benchmark_tracking.py --fit-steps does for FAN-4):
    peaked heatmaps, like a trained FAN's, whose argmax means something; random weights' flat
    heatmaps would make any rounding difference move the landmarks. Images, boxes and the model."""
    sys.path.insert(0, str(REPO / "tools"))
    from _fan_candidates import fit_last_head

    cfg = FANConfig(stacks=2, features=32, depth=2, input_size=64)
    torch.manual_seed(0)
    model = FAN(cfg)
    _randomise_batchnorm(model)
    model.eval()
    rng = np.random.default_rng(5)
    boxes = np.tile([30.0, 30.0, 90.0, 90.0], (8, 1)) + rng.uniform(-5, 5, (8, 4))
    centers, scales = heatmaps.center_scale(boxes)
    size, hm_size = cfg.input_size, cfg.heatmap_size
    # a bright disc on grey noise in each image; every landmark's target is the disc's centre
    spots = centers + rng.uniform(-15, 15, (len(boxes), 2))
    images = []
    for spot in spots:
        image = rng.integers(60, 120, (120, 120, 3)).astype(np.uint8)
        images.append(cv2.circle(image, tuple(int(round(v)) for v in spot), 4, (255, 255, 255), -1))
    crops = np.stack(
        [
            heatmaps.crop(i, heatmaps.crop_matrix(c, s, size), size)
            for i, c, s in zip(images, centers, scales, strict=True)
        ]
    )
    truth = np.stack(
        [
            np.repeat(heatmaps.to_crop(p[None], c, s, hm_size), 68, 0)
            for p, c, s in zip(spots, centers, scales, strict=True)
        ]
    )
    targets = torch.from_numpy(np.stack([heatmaps.target_heatmaps(p, hm_size) for p in truth]))
    with _one_thread():
        x = torch.from_numpy(crops).permute(0, 3, 1, 2).float().div(255)
        fit_last_head(model, x, targets, 300, log=lambda _: None)
    truth_px = np.stack([heatmaps.from_crop(p, c, s, hm_size) for p, c, s in zip(truth, centers, scales, strict=True)])
    return images, boxes, model, truth_px


def test_cpu_inference_candidates_match_fp32_on_peaked_heatmaps(peaked_small_fan):
    """Every CPU inference choice that ``auto`` can take gives landmarks within 0.1 px of the fp32
    eager path (face-alignment's operations, test_same_heatmaps_as_face_alignment_both_ways), with both
    decoders, and is deterministic: the same input gives the same bytes."""
    images, boxes, model, truth = peaked_small_fan
    hm_px = (boxes[:, 2:] - boxes[:, :2]).sum(1).mean() / 195 * 200 / 16  # one heatmap pixel in image px
    with _one_thread():
        reference = LandmarkPredictor(model, batch_size=3)
        for mode in dict.fromkeys(("channels-last", "onnxruntime", resolve_cpu_inference("auto"))):
            predictor = LandmarkPredictor(model, batch_size=3, cpu_inference=mode)
            for decoder in heatmaps.DECODERS:
                reference.decoder = predictor.decoder = decoder
                ref_pts, _ = reference.predict(images, boxes)
                assert np.median(np.abs(ref_pts - truth)) < hm_px / 2  # peaked where the targets are, not flat
                pts, conf = predictor.predict(images, boxes)
                assert np.abs(pts - ref_pts).max() <= 0.1, (mode, decoder)
                again = predictor.predict(images, boxes)
                assert pts.tobytes() == again[0].tobytes() and conf.tobytes() == again[1].tobytes(), mode


def test_cpu_inference_choices():
    assert resolve_cpu_inference("fp32") == "fp32"
    assert resolve_cpu_inference("auto") in ("onnxruntime", "channels-last")
    with pytest.raises(ValueError, match="cpu_inference"):
        resolve_cpu_inference("fp16")
    model = FAN(FANConfig(stacks=1, features=8, depth=1, input_size=32)).eval()
    bf16 = LandmarkPredictor(model, cpu_inference="bf16")
    assert bf16.dtype == torch.bfloat16 and bf16.channels_last
    flipped = LandmarkPredictor(model, cpu_inference="onnxruntime", flip=True)
    crops = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3)).astype(np.uint8)
    np.testing.assert_allclose(
        flipped.heatmaps(crops), LandmarkPredictor(model, flip=True).heatmaps(crops), rtol=0, atol=1e-5
    )
