"""The training package: generator, pairs mode, losses, checkpoints and DDP."""

import json
import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from PIL import Image
from textclean_train.dataset import CropDataset, write_synthetic
from textclean_train.losses import bce_dice_loss, focal_loss, inpainting_loss
from textclean_train.pairs import find_pairs, mask_from_pair, write_pairs
from textclean_train.synth import IGNORE, make_sample

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# A segmenter small enough to train in a second on the test crops.
TINY_SEGMENTER = ["--batch", "2", "--crop", "64", "--width", "0.5", "--aspp-channels", "16", "--decoder-channels", "16"]
TINY_SEGMENTER += ["--workers", "0", "--threads", "1"]


def _train_tiny(crops: str, out, steps: int, *extra: str) -> None:
    from textclean_train import train_segmenter

    train_segmenter.main(["--data", crops, "--out", str(out), "--steps", str(steps), *TINY_SEGMENTER, *extra])


@pytest.fixture(scope="module")
def crops(tmp_path_factory):
    out = tmp_path_factory.mktemp("crops")
    write_synthetic(str(out), pages=3, seed=123, crops_per_page=2, workers=1)
    return str(out)


@pytest.mark.parametrize("kind", ["manga", "colour"])
def test_sample_is_deterministic_and_labels_the_text(kind):
    a, b = make_sample(11, kind), make_sample(11, kind)
    assert np.array_equal(a.raw, b.raw) and np.array_equal(a.label, b.label)
    assert a.raw.shape == a.clean.shape and a.raw.dtype == np.uint8
    text = a.label == 1
    assert text.any()
    changed = np.abs(a.raw.astype(int) - a.clean.astype(int)).max(axis=2) > 40
    # Clearly changed pixels are text, its rim or JPEG ringing, which is labelled "ignore"; never
    # background, and the ringing stays near the text.
    assert not (changed & (a.label == 0)).any()
    import cv2

    far = cv2.distanceTransform((a.label != 1).astype(np.uint8), cv2.DIST_L2, 3) > 16  # one JPEG MCU
    assert not (changed & far).any()
    assert set(np.unique(a.label)) <= {0, 1, IGNORE}


def test_heldout_split_uses_other_font_families_and_never_the_reserved_ones():
    from textclean_train.fonts import RESERVED_FILES, families, index_fonts

    train, held = families("train"), families("heldout")
    for script in train:
        assert train[script] and held[script], script
        assert not train[script] & held[script], script
    every = {f.path.rsplit("/", 1)[-1].lower() for specs in index_fonts().values() for f in specs}
    assert not [name for name in every if name.startswith(RESERVED_FILES)]


def test_no_foundry_dominates_the_fonts_and_cjk_gets_book_faces():
    """Families were once drawn uniformly: 95 YOz handwriting variants made half of all Japanese
    text handwriting, and the thin Mincho faces of manga dialogue came up 1 time in 10."""
    from collections import Counter

    from textclean_train.text import BOOK_FACES, font_group, pick_font

    assert font_group("YOzA90b") == font_group("YOzNF") == "YOz"
    assert font_group("TakaoPGothic") == "Takao" and font_group("Noto Serif CJK JP") == "Noto"
    rng = np.random.default_rng(0)
    picks = [pick_font(rng, "ja", "train").family for _ in range(600)]
    groups = Counter(font_group(f) for f in picks)
    assert groups.most_common(1)[0][1] < 0.2 * len(picks)
    book = sum(any(k in f.lower() for k in BOOK_FACES) for f in picks)
    assert book > 0.3 * len(picks)
    latin = Counter(font_group(pick_font(rng, "en", "train").family) for _ in range(600))
    assert latin.most_common(1)[0][1] < 0.05 * 600


@pytest.mark.parametrize("kind", ["manga", "colour"])
def test_text_free_pages_have_no_text_label_and_equal_raw_and_clean(kind):
    s = make_sample(21, kind, text=False)
    assert not (s.label == 1).any()
    assert np.array_equal(s.raw, s.clean)


def test_comic_marks_draw_ink_where_asked():
    from textclean_train import marks

    rng = np.random.default_rng(0)
    for draw in set(marks.MARKS):
        img = np.ones((200, 200), np.float32)
        draw(img, rng, 100.0, 100.0, 60.0)
        ink = img < 0.5
        assert ink.any(), draw.__name__
        ys, xs = np.nonzero(ink)
        # Centred on (100, 100): the mark stays near where it was put (a face's hair may reach further).
        assert abs(ys.mean() - 100) < 60 and abs(xs.mean() - 100) < 60, draw.__name__


def test_mangaize_gives_ink_tone_and_paper():
    from textclean_train.art import mangaize

    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:256, 0:256].astype(np.float32)
    picture = np.stack([xx / 255, yy / 255, (xx + yy) / 510], -1).astype(np.float32)
    out = mangaize(picture, rng)
    assert out.shape == (256, 256) and out.dtype == np.float32
    assert (out < 0.1).mean() > 0.02 and (out > 0.9).mean() > 0.2  # solid blacks and paper both present


def test_comicize_gives_flat_inks_lines_and_solid_blacks():
    from textclean_train.art import comicize

    picture = np.full((200, 200, 3), (0.8, 0.55, 0.4), np.float32)  # a skin-like flat
    picture[60:140, 60:140] = (0.05, 0.05, 0.08)  # dark hair
    picture += np.random.default_rng(0).normal(0, 0.02, picture.shape).astype(np.float32)  # scan grain
    out = comicize(picture, np.random.default_rng(3))
    assert out.shape == picture.shape and out.dtype == np.float32
    assert (out[75:125, 75:125] == 0).all()  # the dark area printed solid black
    flat = out[5:40, 5:40].reshape(-1, 3)
    assert len(np.unique(flat, axis=0)) <= 2  # the grain is gone: one ink (and at most a line)
    edge = out[57:63, 80:120]
    assert edge.min() < 0.2  # an ink line (or the black) where the flat meets the dark


@pytest.mark.parametrize("painter", ["cel_shade", "printed_pattern"])
def test_painted_shapes_hold_several_tones_not_one_fill(painter):
    # cel_shade: a flat, darker folds and an outline; printed_pattern: a ground, its marks and an outline.
    from textclean_train import art

    paint = getattr(art, painter)
    painted = 0
    for seed in range(10):
        img = np.full((300, 300, 3), 0.9, np.float32)
        paint(img, np.random.default_rng(seed), 1)
        changed = np.abs(img - 0.9).max(-1) > 0.02
        if changed.mean() < 0.02:
            continue  # a shape placed mostly off the page
        painted += 1
        value = img.max(-1)[changed]
        assert np.percentile(value, 95) - np.percentile(value, 5) > 0.15
        assert img.dtype == np.float32 and 0.0 <= img.min() and img.max() <= 1.0
    assert painted >= 5


@pytest.mark.parametrize("kind", ["spots", "dots", "checks", "lines", "tufts"])
def test_printed_pattern_fills_a_shape_with_small_marks_of_one_scale(kind):
    # A field of small dark marks (a leopard skin, polka dots, a line screen) is what old colour comics
    # print on garments and grounds, and what a segmenter takes for lines of small glyphs.
    from textclean_train.art import _pattern

    rng = np.random.default_rng(3)
    marks = _pattern(200, 200, rng, kind, 12.0)
    assert marks.dtype == np.uint8 and set(np.unique(marks)) <= {0, 1}
    assert 0.02 < marks.mean() < 0.6  # marks, not a fill and not nothing
    n, _, stats, _ = cv2.connectedComponentsWithStats(marks, connectivity=8)
    if kind in ("spots", "dots", "tufts"):
        assert n > 40  # many separate marks, none much bigger than the period
        assert np.percentile(stats[1:, cv2.CC_STAT_WIDTH], 90) <= 24


def test_tight_balloons_are_drawn_around_their_text():
    # Letterers size a balloon to its text, so a column runs a few px inside the border with art just
    # outside; our other balloons centred small text in a wide white field.
    from textclean_train.synth import _tight_balloons

    ratios = []
    for seed in range(40):
        page = np.full((1200, 900, 3), 0.5, np.float32)
        # The last one drawn, which no other balloon can have covered.
        for block, x, y, _ink in _tight_balloons(page, seed, "manga", "train")[-1:]:
            bh, bw = block.fill.shape
            row = page[y + bh // 2, :, 0] > 0.8  # the balloon's white (or off-white) interior, middle row
            cx = x + bw // 2
            left, right = cx, cx
            while left > 0 and row[left - 1]:
                left -= 1
            while right < len(row) - 1 and row[right + 1]:
                right += 1
            assert right - left + 1 >= bw  # the balloon holds its text
            ratios.append((right - left + 1) / bw)
    assert len(ratios) >= 8
    assert np.median(ratios) < 1.5  # and hugs it: at most a quarter of its width spare on each side
    # A page that gets none is left as it was (its other draws come from other streams).
    for seed in range(40):
        page = np.full((600, 500, 3), 0.5, np.float32)
        if not _tight_balloons(page, seed, "colour", "train"):
            assert (page == 0.5).all()
            break
    else:
        pytest.fail("every page got a tight balloon; TIGHT_P is meant to leave most colour pages alone")


def test_hand_drawn_sfx_wander_off_the_font_and_keep_their_outline_around_their_fill():
    # Hand-drawn SFX (the Manga109 spread's ビリリ) were missed by every model trained on fonts alone.
    from textclean_train import lettering
    from textclean_train.text import pick_font, render_block

    rng = np.random.default_rng(4)
    block = render_block(["ビリリ"], pick_font(rng, "ja", "train", bold=True), 100, False, 6, 0, rng)
    moved = []
    for seed in range(6):
        drawn = lettering.hand_drawn(block, 100, np.random.default_rng(seed))
        assert drawn.fill.shape == block.fill.shape
        # One displacement moves every map, so the outline still contains the fill it was drawn around.
        assert (drawn.outer >= drawn.fill - 1e-5).all()
        assert 0.75 < drawn.outer.sum() / block.outer.sum() < 1.25  # strokes moved, not erased or smeared
        moved.append(np.abs(drawn.fill - block.fill).mean() / block.fill.mean())
    assert min(moved) > 0.1  # the strokes really left the font's line


def test_sfx_rims_stay_a_few_px_wide_on_display_lettering(monkeypatch):
    # The label takes in an SFX's outline; outlines of size / 8 (50 px on 400-px lettering) taught the
    # segmenter to cover whatever lies between a real SFX's strokes (mit-21's door).
    from textclean_train import synth

    seen = []
    real = synth.composite

    def spy(page, block, x, y, fill, outline, shadow, halo=None, opacity=1.0):
        rim = np.maximum(block.outer, halo[0] if halo is not None else 0) > 0.5
        far = cv2.distanceTransform((block.fill <= 0.5).astype(np.uint8), cv2.DIST_L2, 5)
        seen.append((block.fill.shape[0], block.fill.shape[1], float(far[rim].max()) if rim.any() else 0.0))
        return real(page, block, x, y, fill, outline, shadow, halo, opacity)

    monkeypatch.setattr(synth, "composite", spy)
    for seed in range(150):
        page = np.full((900, 900, 3), 0.5, np.float32)
        rng = np.random.default_rng(seed)
        synth._place_free(page, rng, "train", np.zeros((900, 900), np.float32), sfx=True, colour=seed % 2 == 0)
    big = [reach for h, w, reach in seen if min(h, w) >= 200 and reach > 0]
    assert len(big) >= 5  # display lettering with an outline was drawn
    # 16 px of outline and 15 of second ring (or a glow's soft tail) at most, however large the
    # letters; with rims of size / 8 these 150 seeds reach 91 px
    assert max(big) <= synth.sfx_rim(400) * 2 + 8
    assert synth.sfx_rim(28) == 3  # small SFX keep the rims they had


def test_clipped_balloon_keeps_the_frame_and_sets_text_beside_it():
    # Lettering a few px from a panel's frame line is what real balloons at a panel's edge have, and
    # what floating balloons (which paint over the frames they cross) never gave the segmenter.
    from textclean_train.pages import clipped_balloon

    near = 0
    for seed in range(30):
        img = np.full((400, 500), 0.5, np.float32)
        panel, frame = (50, 40, 450, 360), 3
        b = clipped_balloon(img, np.random.default_rng(seed), panel, frame)
        assert (img[: 40 - frame] == 0.5).all() and (img[:, : 50 - frame] == 0.5).all()  # nothing outside the panel
        assert (img[40:42, 50:450] == 0).all() and (img[40:360, 448:450] == 0).all()  # the frame, intact
        if b is None:
            continue
        assert panel[0] + frame < b.x0 < b.x1 < panel[2] - frame and panel[1] + frame < b.y0 < b.y1 < panel[3] - frame
        assert (img[b.y0 : b.y1, b.x0 : b.x1] > 0.8).mean() > 0.8  # the text box is mostly balloon interior
        near += min(b.x0 - panel[0], panel[2] - b.x1, b.y0 - panel[1], panel[3] - b.y1) <= frame + 12
    assert near >= 15  # most set their text within a few px of the frame


def test_text_in_a_clipped_balloon_is_set_against_the_frame():
    # Centred in its box, short text sat far from the frame; the Manga109 spread's missed column is 5 px
    # from it. The box side that meets the frame is where the text starts.
    from textclean_train.pages import clipped_balloon
    from textclean_train.synth import _place_in_bubble

    gaps = []
    for seed in range(40):
        img = np.full((400, 500, 3), 0.5, np.float32)
        x0, y0, x1, y1 = 50, 40, 450, 360
        b = clipped_balloon(img, np.random.default_rng(seed), (x0, y0, x1, y1), 3)
        if b is None or not (b.align_x or b.align_y):
            continue
        alpha = np.zeros(img.shape[:2], np.float32)
        _place_in_bubble(img, b, np.random.default_rng(seed), "train", alpha)
        ys, xs = np.nonzero(alpha > 0.5)
        if len(xs) == 0:
            continue
        if b.align_x:
            gaps.append(x1 - 1 - xs.max() if b.align_x > 0 else xs.min() - x0)
        if b.align_y:
            gaps.append(y1 - 1 - ys.max() if b.align_y > 0 else ys.min() - y0)
    assert len(gaps) >= 10
    assert np.median(gaps) <= 3 + 13  # the frame and the balloon's own gap, no more


def test_framed_captions_sit_against_the_frame():
    from textclean_train.pages import framed_captions

    img = np.full((500, 700, 3), 0.3, np.float32)
    bubbles = framed_captions(img, np.random.default_rng(2))
    assert bubbles
    edge = img[:, :3].reshape(-1, 3)
    assert (edge > 0.7).all()  # the page's margin is paper now
    for b in bubbles:
        assert (img[b.y0 : b.y1, b.x0 : b.x1] > 0.4).mean() > 0.8  # caption tint or balloon, not the picture


def test_styled_lettering_keeps_label_and_page_consistent():
    # Warps, jittered glyphs, double outlines and patterned fills all go through the coverage that is
    # painted, so every clearly changed pixel is labelled text, rim or ringing, and is near text.
    import cv2

    for seed in range(40, 52):
        s = make_sample(seed, "manga" if seed % 3 else "colour")
        changed = np.abs(s.raw.astype(int) - s.clean.astype(int)).max(axis=2) > 40
        assert not (changed & (s.label == 0)).any(), seed
        far = cv2.distanceTransform((s.label != 1).astype(np.uint8), cv2.DIST_L2, 3) > 16  # one JPEG MCU
        assert not (changed & far).any(), seed


def test_mixed_crops_draws_each_folder_in_its_share(crops, tmp_path):
    from textclean_train.dataset import MixedCrops

    ds = MixedCrops([crops, f"{crops}:0.25"], size=64, augment=False)
    picks = [int(np.searchsorted(ds.cum, np.random.default_rng(i).random(), side="right")) for i in range(2000)]
    assert 0.7 < picks.count(0) / len(picks) < 0.8  # the unshared folder gets what the 0.25 leaves
    assert ds[0]["raw"].shape == (3, 64, 64)
    with pytest.raises(ValueError):
        MixedCrops([f"{crops}:0.7", f"{crops}:0.6"], size=64)


def test_larger_crops_are_stored_and_a_crop_larger_than_them_is_refused(crops, tmp_path):
    # Training at 512 px needs stored crops of 640 (the ASPP's widest branch only sees context on
    # crops that large); asking a folder of smaller crops for 512 would silently upscale them.
    write_synthetic(str(tmp_path), pages=1, seed=5, crops_per_page=1, workers=1, crop=400)
    assert np.load(tmp_path / "raw.npy", mmap_mode="r").shape == (1, 400, 400, 3)
    assert json.loads((tmp_path / "meta.json").read_text())["crop"] == 400
    assert CropDataset(str(tmp_path), size=384)[0]["raw"].shape == (3, 384, 384)
    with pytest.raises(ValueError, match="--crop-size"):
        CropDataset(crops, size=512)


def test_mining_keeps_crops_of_false_positives(crops, tmp_path):
    from textclean_train.mining import mine

    # A barely trained network, so that there is something to mine: the shipped 0.4 marks nothing on
    # these text-free pages even at 0.01.
    _train_tiny(crops, tmp_path / "a", 1)
    report = mine(
        str(tmp_path / "a" / "last.pt"),
        str(tmp_path / "neg"),
        pages=2,
        threshold=0.05,
        workers=1,
        crop=400,  # a 512-px campaign stores its negatives at 640; any side other than the default will do
    )
    raw = np.load(tmp_path / "neg" / "raw.npy")
    label = np.load(tmp_path / "neg" / "label.npy")
    assert report["crops"] == len(raw) == len(label) > 0
    assert raw.shape[1:] == (400, 400, 3) and report["crop"] == 400
    assert not label.any()


def test_pairs_mode_recovers_the_generator_mask(tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "clean").mkdir()
    s = make_sample(5, "manga", size=(400, 300))
    Image.fromarray(s.raw).save(tmp_path / "raw" / "p1.png")
    Image.fromarray(s.clean).save(tmp_path / "clean" / "p1.png")
    Image.fromarray(s.raw).save(tmp_path / "raw" / "unmatched.png")
    pairs = find_pairs(tmp_path)
    assert [p[0].name for p in pairs] == ["p1.png"]
    label = mask_from_pair(s.raw, s.clean, threshold=0.35, dilate=3)
    truth = s.label == 1
    # The thresholded, dilated difference covers all text that differs by more than the threshold, and
    # most text overall (semi-transparent or low-contrast lettering can differ by less).
    diff = np.abs(s.raw.astype(int) - s.clean.astype(int)).max(axis=2)
    strong = truth & (diff > 0.35 * 255)
    assert (label[strong] == 1).mean() > 0.99
    assert (label[truth] == 1).mean() > 0.85
    n = write_pairs(str(tmp_path), str(tmp_path / "crops"), crops_per_page=3)
    ds = CropDataset(str(tmp_path / "crops"), size=128)
    assert n == 3 and len(ds) == 3 and ds[0]["raw"].shape == (3, 128, 128)


def test_losses_ignore_the_rim_and_prefer_the_truth():
    label = torch.zeros(1, 1, 16, 16)
    label[..., 4:8, 4:8] = 1
    label[..., 8:10, 4:8] = IGNORE
    good = torch.where(label == 1, 8.0, -8.0)
    bad = -good
    for loss in (focal_loss, bce_dice_loss):
        assert loss(good, label) < loss(bad, label)
        flipped_rim = good.clone()
        flipped_rim[..., 8:10, 4:8] = 8.0
        assert torch.isclose(loss(good, label), loss(flipped_rim, label), atol=1e-4) or loss is bce_dice_loss
    target = torch.rand(1, 3, 16, 16)
    hole = torch.zeros(1, 1, 16, 16)
    hole[..., 4:10, 4:10] = 1
    assert inpainting_loss(target, target, hole) == 0
    assert inpainting_loss(target * 0.5, target, hole) > 0


def test_checkpoint_resumes(crops, tmp_path):
    from textclean_train import train_segmenter

    args = [
        "--data",
        crops,
        "--out",
        str(tmp_path),
        "--batch",
        "2",
        "--crop",
        "64",
        "--width",
        "0.5",
        "--aspp-channels",
        "16",
        "--decoder-channels",
        "16",
        "--workers",
        "0",
        "--threads",
        "1",
    ]
    train_segmenter.main(args + ["--steps", "2"])
    ckpt = torch.load(tmp_path / "last.pt", weights_only=True)
    assert ckpt["step"] == 2
    train_segmenter.main(args + ["--steps", "3"])
    assert torch.load(tmp_path / "last.pt", weights_only=True)["step"] == 3


def test_time_scheduled_run_resumes_with_its_rate_where_it_was(tmp_path):
    """A time-boxed run killed with its rate annealed resumes there, not back at the peak."""
    from types import SimpleNamespace

    from textclean_train import distributed, loop

    def train(max_minutes: float) -> tuple[list[float], loop.LoopState]:
        args = SimpleNamespace(
            out=str(tmp_path), steps=100, lr=0.1, warmup=0, batch=1, val_every=1000, ckpt_every=1000,
            max_minutes=max_minutes, time_schedule=True, seed=0, threads=1,
        )  # fmt: skip
        rt = distributed.setup("cpu")
        model = torch.nn.Linear(2, 1)
        opt = torch.optim.SGD(model.parameters(), lr=args.lr)
        state = loop.resume(args.out, model, opt, rt)
        rates = []

        def loss_at(step: int) -> torch.Tensor:
            rates.append(opt.param_groups[0]["lr"])
            return model(torch.ones(1, 2)).sum()

        loop.run(args, rt, model, opt, state, loss_at, None, "f1", {})
        return rates, state

    # A budget far shorter than one step: the schedule runs to its end while the step count is at 1.
    rates, state = train(1e-9)
    assert len(rates) == 1 and state.sched_step == 100
    ckpt = torch.load(tmp_path / "last.pt", weights_only=True)
    assert ckpt["step"] == 1 and ckpt["sched_step"] == 100
    # Resumed with a long budget, its first step is at the bottom of its cosine (1% of the peak).
    rates, state = train(60)
    assert state.step == 1 and len(rates) == 99
    assert rates[0] == pytest.approx(0.001)


def test_legacy_checkpoint_schedule_step_is_rebuilt_from_its_wall_time():
    from textclean_train.loop import _legacy_sched_step

    args = json.dumps({"time_schedule": True, "max_minutes": 10, "steps": 1000})
    assert _legacy_sched_step({"step": 20, "wall_s": 300.0, "args": args}) == 500
    assert _legacy_sched_step({"step": 20, "wall_s": 300.0, "args": json.dumps({"steps": 1000})}) == 20


@pytest.mark.parametrize("kind", ["segmenter", "inpainter"])
def test_ddp_two_cpu_ranks_end_with_identical_weights(crops, tmp_path, kind):
    common = ["--data", crops, "--out", str(tmp_path), "--steps", "3", "--batch", "2", "--workers", "0", "--crop", "64"]
    extra = (
        ["--width", "0.5", "--aspp-channels", "16", "--decoder-channels", "16"]
        if kind == "segmenter"
        else ["--base-channels", "8"]
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": ROOT}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        os.path.join(ROOT, "tests", "ddp_worker.py"),
        kind,
        str(tmp_path),
        *common,
        *extra,
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert r0.keys() == r1.keys()
    for k in r0:
        assert torch.equal(r0[k], r1[k]), f"{k} differs between ranks"
    # ...and training moved them: the ranks agree on something learned.
    init = train_segmenter_init(kind, extra)
    assert any(not torch.equal(r0[k], init[k]) for k in r0 if r0[k].is_floating_point())
    assert json.loads(torch.load(tmp_path / "last.pt", weights_only=True)["args"])["steps"] == 3


def train_segmenter_init(kind, extra):
    """The initial weights the trainers build from their preset and these overrides (seed 0)."""
    from textclean.models import build

    torch.manual_seed(0)
    if kind == "segmenter":
        return build("segmenter", "shipped", width_mult=0.5, aspp_channels=16, decoder_channels=16).state_dict()
    return build("inpainter", "shipped", base_channels=8).state_dict()


def _text_crop(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """A crop of a generated manga page and its text hole (the label grown by 2 px, as validation does)."""
    from textclean_train.train_inpainter import text_holes

    s = make_sample(3, "manga")
    lab = (s.label == 1).astype(np.uint8)
    ys, xs = np.nonzero(lab)
    i = len(ys) // 2  # centred on a text pixel
    y0 = int(np.clip(ys[i] - h // 2, 0, lab.shape[0] - h))
    x0 = int(np.clip(xs[i] - w // 2, 0, lab.shape[1] - w))
    raw = s.raw[y0 : y0 + h, x0 : x0 + w]
    hole = text_holes(lab[y0 : y0 + h, x0 : x0 + w], np.random.default_rng(0), grow=2)
    assert hole.sum() > 50
    return raw, hole


def test_validation_inpaints_exactly_as_the_daemon_ships():
    """Training's validation pipeline and the daemon's give the same pixels on the same crop (odd size: padded)."""
    from textclean import weights
    from textclean.backend import ModelRunner
    from textclean.models import build
    from textclean.pipeline import Pipeline
    from textclean_train.train_inpainter import init_from, shipped_pipeline

    raw, hole = _text_crop(117, 150)
    model = build("inpainter", weights.load("inpainter").config)
    init_from(model, str(weights.weights_path("inpainter")))
    validation = shipped_pipeline(model).inpaint(raw, hole * 255)
    daemon = Pipeline(ModelRunner("cpu", backend="torch")).inpaint(raw, hole * 255)
    assert np.array_equal(validation, daemon)
    assert not np.array_equal(validation, raw)
    onnx = Pipeline(ModelRunner("cpu", backend="onnx-fp32")).inpaint(raw, hole * 255)
    assert np.abs(onnx.astype(int) - daemon.astype(int)).max() <= 1


def test_training_batches_feed_the_network_what_inference_feeds_it():
    """The network's output on a training batch equals the shipped path's on the pixels the network paints."""
    from textclean import weights
    from textclean.backend import TorchInpainter
    from textclean.models import build
    from textclean.structure import prepare
    from textclean_train.train_inpainter import init_from, prepared_batch

    raw, hole = _text_crop(96, 128)  # multiples of 8: no padding at inference either
    model = build("inpainter", weights.load("inpainter").config).eval()
    init_from(model, str(weights.weights_path("inpainter")))
    x = torch.from_numpy(raw.astype(np.float32) / 255).permute(2, 0, 1)[None]
    image, left, guide, owned = prepared_batch(x, torch.from_numpy(hole.astype(np.float32))[None, None])
    with torch.no_grad():
        trained_on = model(image, left, guide)[0].permute(1, 2, 0).numpy()
    shipped = TorchInpainter(model).inpaint(raw.astype(np.float32) / 255, hole > 0)
    p = prepare(raw.astype(np.float32) / 255, hole > 0)
    painted = p.hole & ~p.settled
    assert painted.sum() > 20
    assert np.abs(trained_on[painted] - shipped[painted]).max() < 1e-5
    # The loss weights exactly the pixels whose output ships from the network.
    assert np.array_equal(owned[0, 0].numpy() > 0, painted)


def test_zeroed_wide_taps_change_nothing_on_a_training_crop_and_something_on_a_page():
    """The rate-18 ASPP taps sit 288 px from the centre: on a 256-px training crop they only ever
    met zero padding, so zeroing them leaves that crop's output as it was; on a larger tile they
    reach features, which is where their untrained weights did harm."""
    from textclean.models import build
    from textclean.weights import load
    from textclean_train.zero_taps import zero_off_centre

    torch.manual_seed(0)
    shipped = load("segmenter")
    model = build("segmenter", shipped.config).eval()
    model.load_state_dict({k: v.float() for k, v in shipped.state_dict.items()})
    # Untrained taps, as the 0.3 weights had them: about as large as the trained centre.
    model.aspp.branches[3][0].weight.data.normal_(0, 0.2)
    crop, page = torch.rand(1, 3, 256, 256), torch.rand(1, 3, 640, 640)
    with torch.no_grad():
        before = model(crop), model(page)
        state = model.state_dict()
        assert zero_off_centre(state, (18,), model.config.aspp_rates) == ["aspp.branches.3.0.weight"]
        model.load_state_dict(state)
        after = model(crop), model(page)
    w = model.aspp.branches[3][0].weight.detach().clone()
    assert w[:, :, 1, 1].abs().sum() > 0
    w[:, :, 1, 1] = 0
    assert not w.any()  # every off-centre tap, and only those
    assert torch.allclose(before[0], after[0], atol=1e-5)
    assert (before[1] - after[1]).abs().max() > 1e-2
    with pytest.raises(ValueError, match="rate 24"):
        zero_off_centre(state, (24,), model.config.aspp_rates)


def test_worst_crops_rank_a_crop_by_its_errors_and_draw_it(crops):
    from textclean_train.evaluate import crop_errors, error_montage

    class MarksEverything(torch.nn.Module):
        def forward(self, x):
            return torch.full_like(x[:, :1], 5.0)

    rows = crop_errors(MarksEverything(), crops, threshold=0.5)
    label = np.load(os.path.join(crops, "label.npy"))[:, :320, :320]
    assert len(rows) == len(label)
    # Marking everything misses nothing, and its false marks are exactly the pixels more than
    # 3 px from text or rim; the crops come worst first.
    assert all(r["missed_px"] == 0 for r in rows)
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
    for r in rows:
        near = cv2.dilate((label[r["index"]] > 0).astype(np.uint8), disk) > 0
        assert r["false_px"] == int((~near).sum())
    far = [r["false_px"] for r in rows]
    assert far == sorted(far, reverse=True) and far[0] > 0
    image = error_montage(crops, rows[:3])
    assert image.shape == (2 * 320, 2 * 2 * 320, 3)  # 3 crops, 2 a row, each raw + overlay


def test_export_ships_the_threshold_it_is_given_and_scores_there(crops, tmp_path):
    from textclean.weights import load
    from textclean_train.export import export

    _train_tiny(crops, tmp_path / "run", 1)
    out = tmp_path / "weights"
    out.mkdir()
    shipped = os.path.join(ROOT, "daemon", "textclean", "weights")
    for name in os.listdir(shipped):  # the card describes the inpainter from its shipped files
        if name.startswith("inpainter."):
            shutil.copy(os.path.join(shipped, name), out)
    for threshold in (0.7, 0.3):
        export(
            str(tmp_path / "run" / "last.pt"), None, crops, None, str(out), "recipe", int8=False, threshold=threshold
        )
        meta = load("segmenter", str(out / "segmenter.pt")).meta
        assert meta["threshold"] == meta["figures"]["threshold"] == threshold


def test_kept_candidate_resumes_with_its_history(crops, tmp_path):
    """A candidate kept in the repository (run folders get wiped) must load as weights, start a new run
    with the same parameters, and carry its stages on to that run's history."""
    from textclean.weights import load
    from textclean_train.export import checkpoint_facts
    from textclean_train.keep import keep

    _train_tiny(crops, tmp_path / "a", 2)
    kept = tmp_path / "kept.pt"
    meta = keep(str(tmp_path / "a" / "last.pt"), str(kept), "a summary")
    assert meta["step"] == 2 and meta["summary"] == "a summary" and len(meta["commands"]) == 1
    before = kept.read_bytes()
    with pytest.raises(SystemExit, match="exists"):
        keep(str(tmp_path / "a" / "last.pt"), str(kept))
    assert kept.read_bytes() == before
    trained = torch.load(tmp_path / "a" / "last.pt", weights_only=True)["model"]
    w = load("segmenter", str(kept))
    for k, v in trained.items():
        assert torch.equal(w.state_dict[k], v.half() if v.is_floating_point() else v), k

    _train_tiny(crops, tmp_path / "b", 1, "--init-from", str(kept))
    facts = checkpoint_facts(str(tmp_path / "b" / "last.pt"), "train_segmenter")
    assert [st["steps"] for st in facts["stages"]] == [2, 1]
    assert "--out " + str(tmp_path / "a") in facts["stages"][0]["command"]


def test_soup_averages_two_runs_of_one_network_and_names_both(crops, tmp_path):
    from textclean.weights import load
    from textclean_train.keep import keep
    from textclean_train.soup import soup

    _train_tiny(crops, tmp_path / "a", 2)
    first = tmp_path / "first.pt"
    keep(str(tmp_path / "a" / "last.pt"), str(first))
    _train_tiny(crops, tmp_path / "b", 1, "--init-from", str(first))
    second = str(tmp_path / "b" / "last.pt")
    out = tmp_path / "soup.pt"
    meta = soup(str(first), second, str(out), weight=0.25)
    a = load("segmenter", str(first)).state_dict
    b = torch.load(second, weights_only=True)["model"]
    w = load("segmenter", str(out)).state_dict
    moved = 0
    for k, v in w.items():
        if not v.is_floating_point():
            assert torch.equal(v, b[k]), k
            continue
        want = 0.75 * a[k].float() + 0.25 * b[k].float()
        assert torch.allclose(v.float(), want, atol=2e-3, rtol=2e-3), k
        moved += int(not torch.equal(a[k].float(), b[k].float()))
    assert moved > 0  # the two runs differ, so the average is neither of them
    # The history: the second file's two stages, then the soup command naming the first.
    assert len(meta["commands"]) == 3 and "textclean_train.soup" in meta["commands"][-1]
    assert str(first) in meta["commands"][-1] and meta["soup"]["weight"] == 0.25
    before = out.read_bytes()
    with pytest.raises(SystemExit, match="exists"):
        soup(str(first), second, str(out))
    assert out.read_bytes() == before
    with pytest.raises(SystemExit, match="weight"):
        soup(str(first), second, str(tmp_path / "x.pt"), weight=1.5)
    _train_tiny(crops, tmp_path / "c", 1, "--decoder-channels", "8")
    with pytest.raises(SystemExit, match="different architectures"):
        soup(str(first), str(tmp_path / "c" / "last.pt"), str(tmp_path / "y.pt"))


def test_kept_candidate_exports_with_its_history(crops, tmp_path):
    """A measured candidate may be shipped after its run folder is gone: export takes the kept file
    itself, ships its weights unchanged and lists its stages on the card."""
    from textclean.weights import load
    from textclean_train.export import export
    from textclean_train.keep import keep

    _train_tiny(crops, tmp_path / "a", 2)
    kept = tmp_path / "kept.pt"
    keep(str(tmp_path / "a" / "last.pt"), str(kept), "a summary")
    out = tmp_path / "weights"
    out.mkdir()
    shipped = os.path.join(ROOT, "daemon", "textclean", "weights")
    for name in os.listdir(shipped):
        if name.startswith("inpainter."):
            shutil.copy(os.path.join(shipped, name), out)
    card = export(str(kept), None, crops, None, str(out), "recipe", int8=False, threshold=0.7)
    w, k = load("segmenter", str(out / "segmenter.pt")), load("segmenter", str(kept))
    assert w.config == k.config
    for name, v in k.state_dict.items():
        assert torch.equal(w.state_dict[name], v), name
    assert w.meta["step"] == 2 and w.meta["threshold"] == 0.7
    assert len(w.meta["commands"]) == 1 and "--out " + str(tmp_path / "a") in w.meta["commands"][0]
    assert card["segmenter"]["step"] == 2
