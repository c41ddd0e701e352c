#!/usr/bin/env python3
"""Build the few-shot segmentation set "aerial-trees" from FlightGear photo textures and their hand-painted masks.

FlightGear's terrain masks mark where the simulator plants trees: the green channel is the tree layer. Each mask is
resized to its texture with nearest-neighbour (masks are often a quarter of the texture's resolution) and thresholded
(green >= 128) into two classes: 0 = other, 1 = trees.

Splits follow training/data/splits.json: crops of textures in the DDPM's training split form the labelled pool the
k-shot sets are drawn from; crops of validation and test textures (never seen by the DDPM) are the held-out test set.
That is the cross-texture protocol: label crops of some scenes, segment other scenes. FlightGear's masks follow each
texture's own painting, so the "scenes" protocol also labels other crops of the held-out textures themselves (a user
labelling a few tiles of the scenes they segment) and tests on the same test crops.

Writes, in $DIFFUSEKIT_CACHE/segment/aerial-trees/ (default ~/.cache/diffusekit):
  pool/{images,masks}/<texture>_<row>_<col>.png     256x256 RGB crops and class-index masks (labelled pool)
  test/{images,masks}/...                             held-out crops (TEST_PER_IMAGE per texture)
  k5/, k10/ {images,masks}                            k-shot training sets drawn from the pool (fixed seed)
  k5-draw1/, k5-draw2/, k10-draw1/, ...               further k-shot draws (other seeds) the benchmark averages over
  scenes/{val,pool,k5,k5-draw1,...}/                   the "scenes" protocol: validation crops, labelled pool and
                                                      k-shot sets from the held-out textures' other crops
  palette.json, manifest.json (sources, checksums, class shares)
Deterministic: the same inputs give the same files.

Usage: /usr/bin/python3 training/data/segment_set.py   (after training/data/fetch.py)
       /usr/bin/python3 training/data/segment_set.py --fixtures test/fixtures/segment   (small committed test crops)
"""
import json
import os
import random
import re
import shutil
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from dktrain.files import sha256_file  # noqa: E402

CACHE = os.path.expanduser(os.environ.get("DIFFUSEKIT_CACHE", "~/.cache/diffusekit"))
TERRAIN = os.path.join(CACHE, "raw", "flightgear-data-base", "usr", "share", "games", "flightgear", "Textures", "Terrain")
OUT = os.path.join(CACHE, "segment", "aerial-trees")
CROP = 256
TEST_PER_IMAGE = 4
MIN_SHARE = 0.05  # a k-shot crop shows at least this share of each class
SEED = 20241126
K_SHOTS = (5, 10)
SCENE_VAL_PER_IMAGE = 4
DRAWS = 3  # k-shot sets per k: one draw scores several points apart from the next, so the benchmark averages them
PALETTE = {"classes": [{"name": "other", "color": "#000000"}, {"name": "trees", "color": "#1e9a32"}], "ignore": "#ffffff"}


def mask_for(texture):
    stem = texture[:-4]
    for name in (f"{stem}-mask.png", f"{stem}.mask.png", f"{stem}_tree_mask.png", f"{stem.replace('_suburbs', '_suburbs')}_tree_mask.png"):
        if os.path.exists(os.path.join(TERRAIN, name)):
            return name
    return None


def crops(image, labels):
    h, w = labels.shape
    for r in range(h // CROP):
        for c in range(w // CROP):
            ys, xs = slice(r * CROP, (r + 1) * CROP), slice(c * CROP, (c + 1) * CROP)
            yield r, c, image[ys, xs], labels[ys, xs]


def write(folder, name, image, labels):
    os.makedirs(os.path.join(folder, "images"), exist_ok=True)
    os.makedirs(os.path.join(folder, "masks"), exist_ok=True)
    Image.fromarray(image).save(os.path.join(folder, "images", name + ".png"), optimize=False)
    Image.fromarray(labels).save(os.path.join(folder, "masks", name + ".png"), optimize=False)


FIXTURE_TEXTURES = ("drycrop.png", "cerrado-scrub.png", "california-golf.png")
FIXTURE_SIZE = 64


def mixed_crop(labels):
    """The first crop on a 32-pixel grid whose tree share is closest to a half (ties: first in raster order)."""
    best = None
    for y in range(0, labels.shape[0] - FIXTURE_SIZE + 1, 32):
        for x in range(0, labels.shape[1] - FIXTURE_SIZE + 1, 32):
            gap = abs(labels[y:y + FIXTURE_SIZE, x:x + FIXTURE_SIZE].mean() - 0.5)
            if best is None or gap < best[0] - 1e-9:
                best = (gap, x, y)
    return best[1], best[2]


def fixtures(folder):
    """Three 64x64 crops of held-out textures with tree masks: as an RGB + index-mask pair and as a colour mask."""
    for texture in FIXTURE_TEXTURES:
        image = np.asarray(Image.open(os.path.join(TERRAIN, texture)).convert("RGB"))
        mask = Image.open(os.path.join(TERRAIN, mask_for(texture))).convert("RGB").resize((image.shape[1], image.shape[0]), Image.NEAREST)
        labels = (np.asarray(mask)[:, :, 1] >= 128).astype(np.uint8)
        x, y = mixed_crop(labels)
        name = texture[:-4]
        crop = (slice(y, y + FIXTURE_SIZE), slice(x, x + FIXTURE_SIZE))
        write(folder, name, np.ascontiguousarray(image[crop]), np.ascontiguousarray(labels[crop]))
        colours = np.array([[0, 0, 0], [30, 154, 50]], dtype=np.uint8)[labels[crop]]
        os.makedirs(os.path.join(folder, "colour-masks"), exist_ok=True)
        Image.fromarray(colours).save(os.path.join(folder, "colour-masks", name + ".png"), optimize=False)
        print(name, "at", x, y, "trees share", round(float(labels[crop].mean()), 3))
    with open(os.path.join(folder, "palette.json"), "w") as f:
        json.dump(PALETTE, f, indent=2)


def write_all(folder, tiles):
    for name, im, lab in tiles:
        write(folder, name, im, lab)


def split_off(rng, tiles, n):
    """n tiles drawn by rng (at most all of them), and the rest in their order."""
    chosen = rng.sample(tiles, min(n, len(tiles)))
    taken = {name for name, _, _ in chosen}
    return chosen, [t for t in tiles if t[0] not in taken]


def mixed_crops(tiles):
    """The tiles that show each class on at least MIN_SHARE of their pixels (what a k-shot set is drawn from)."""
    return [t for t in tiles if MIN_SHARE <= t[2].mean() <= 1 - MIN_SHARE]


def k_shot_sets(mixed, folder_of):
    """DRAWS k-shot sets per k from the crops `mixed` (each showing both classes), written to folder_of(name)."""
    shots = {}
    for k in K_SHOTS:
        for draw in range(DRAWS):
            folder = f"k{k}" if draw == 0 else f"k{k}-draw{draw}"
            chosen = random.Random(SEED + k + 1000 * draw).sample(mixed, k)
            shots[folder] = [name for name, _, _ in chosen]
            for name, im, lab in chosen:
                write(folder_of(folder), name, im, lab)
    return shots


def scene_sets(held_out):
    """The "scenes" protocol: label a few crops of the scenes to be segmented. The held-out textures' crops that are
    not test crops give SCENE_VAL_PER_IMAGE validation crops per texture (read-out choice) and a labelled pool the
    k-shot sets are drawn from; the test crops are the same as in the cross-texture protocol."""
    scene_rng = random.Random(SEED + 1)
    val, pool = [], []
    for texture in sorted(held_out):
        chosen, rest = split_off(scene_rng, held_out[texture], SCENE_VAL_PER_IMAGE)
        val.extend(chosen)
        pool.extend(rest)
    base = os.path.join(OUT, "scenes")
    write_all(os.path.join(base, "val"), val)
    write_all(os.path.join(base, "pool"), pool)
    mixed = mixed_crops(pool)
    shots = k_shot_sets(mixed, lambda folder: os.path.join(base, folder))
    return {"val": [n for n, _, _ in val], "pool": {"crops": len(pool), "mixed": len(mixed)}, "shots": shots}


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--fixtures":
        fixtures(sys.argv[2])
        return
    splits = json.load(open(os.path.join(HERE, "splits.json")))
    split_of = {os.path.basename(e["path"]): e["split"] for e in splits["domains"]["aerial"]}
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    rng = random.Random(SEED)
    sources, pool, test = [], [], []
    held_out = {}  # held-out texture -> its crops that are not test crops (the "scenes" protocol)
    for texture in sorted(split_of):
        mask_name = mask_for(texture)
        if not mask_name:
            continue
        image = np.asarray(Image.open(os.path.join(TERRAIN, texture)).convert("RGB"))
        mask = Image.open(os.path.join(TERRAIN, mask_name)).convert("RGB").resize((image.shape[1], image.shape[0]), Image.NEAREST)
        labels = (np.asarray(mask)[:, :, 1] >= 128).astype(np.uint8)
        split = split_of[texture]
        sources.append({"texture": texture, "mask": mask_name, "split": split,
                        "sha256": sha256_file(os.path.join(TERRAIN, texture)),
                        "mask_sha256": sha256_file(os.path.join(TERRAIN, mask_name)),
                        "trees_share": round(float(labels.mean()), 4)})
        tiles = [(f"{texture[:-4]}_{r}_{c}", im, lab) for r, c, im, lab in crops(image, labels)]
        if split == "train":
            pool.extend(tiles)
        else:
            chosen, held_out[texture] = split_off(rng, tiles, TEST_PER_IMAGE)
            test.extend(chosen)
    write_all(os.path.join(OUT, "pool"), pool)
    write_all(os.path.join(OUT, "test"), test)
    shots = k_shot_sets(mixed_crops(pool), lambda folder: os.path.join(OUT, folder))
    scenes = scene_sets(held_out)
    with open(os.path.join(OUT, "palette.json"), "w") as f:
        json.dump(PALETTE, f, indent=2)
    share = lambda tiles: round(float(np.mean([lab.mean() for _, _, lab in tiles])), 4)  # noqa: E731
    manifest = {"classes": ["other", "trees"], "crop": CROP, "seed": SEED, "sources": sources,
                "pool": {"crops": len(pool), "trees_share": share(pool)},
                "test": {"crops": len(test), "trees_share": share(test), "names": [n for n, _, _ in test]},
                "shots": shots, "scenes": scenes}
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    print(f"{len(sources)} textures with masks; pool {len(pool)} crops, test {len(test)} crops -> {OUT}")
    print(json.dumps({k: v for k, v in manifest.items() if k != "sources"}, indent=1)[:1500])


if __name__ == "__main__":
    main()
