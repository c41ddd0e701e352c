#!/usr/bin/env python3
"""Fetch the Debian packages that carry our training imagery and extract only the image paths we use.

Idempotent: a package already in the cache is not downloaded again, an extraction already done (marker file) is
skipped. Everything lives outside the repository, under $DIFFUSEKIT_CACHE (default ~/.cache/diffusekit):

  debs/<package>_<version>_all.deb      the downloaded packages (sha256 recorded in fetched.json)
  raw/<package>/usr/...                 the extracted image files

Usage:  /usr/bin/python3 training/data/fetch.py
"""
import glob
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from dktrain.files import sha256_file  # noqa: E402

CACHE = os.path.expanduser(os.environ.get("DIFFUSEKIT_CACHE", "~/.cache/diffusekit"))
DEBS = os.path.join(CACHE, "debs")
RAW = os.path.join(CACHE, "raw")

# package -> tar wildcard patterns to extract (paths inside the .deb data archive)
PACKAGES = {
    "flightgear-data-base": ["./usr/share/games/flightgear/Textures/Terrain/*"],
    "lomiri-wallpapers-16.04": ["./usr/share/backgrounds/*.jpg"],
    "mate-backgrounds": ["./usr/share/backgrounds/mate/nature/*.jpg"],
    "plasma-workspace-wallpapers": ["./usr/share/wallpapers/*/contents/images/2560x1600.jpg"],
    "palapeli-data": ["./usr/share/palapeli/collection/*.jpg"],
}



def find_deb(pkg):
    hits = sorted(glob.glob(os.path.join(DEBS, f"{pkg}_*.deb")))
    return hits[-1] if hits else None


def fetch(pkg):
    deb = find_deb(pkg)
    if deb is None:
        os.makedirs(DEBS, exist_ok=True)
        print(f"downloading {pkg} ...", flush=True)
        subprocess.run(["apt-get", "download", pkg], cwd=DEBS, check=True)
        deb = find_deb(pkg)
        if deb is None:
            sys.exit(f"apt-get download {pkg} produced no .deb in {DEBS}")
    return deb


def extract(pkg, deb, patterns):
    dest = os.path.join(RAW, pkg)
    marker = os.path.join(dest, ".extracted")
    stamp = os.path.basename(deb)
    if os.path.exists(marker) and open(marker).read().strip() == stamp:
        return dest
    os.makedirs(dest, exist_ok=True)
    print(f"extracting {pkg} ...", flush=True)
    p1 = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", deb], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", dest, "--wildcards", *patterns], stdin=p1.stdout, check=True)
    p1.stdout.close()
    if p1.wait() != 0:
        sys.exit(f"dpkg-deb failed on {deb}")
    with open(marker, "w") as f:
        f.write(stamp + "\n")
    return dest


def main():
    record_path = os.path.join(CACHE, "fetched.json")
    record = json.load(open(record_path)) if os.path.exists(record_path) else {}
    for pkg, patterns in PACKAGES.items():
        deb = fetch(pkg)
        name = os.path.basename(deb)
        size = os.path.getsize(deb)
        prev = record.get(pkg)
        if not prev or prev.get("deb") != name or prev.get("bytes") != size:
            print(f"hashing {name} ...", flush=True)
            record[pkg] = {"deb": name, "bytes": size, "sha256": sha256_file(deb)}
        extract(pkg, deb, patterns)
        with open(record_path, "w") as f:
            json.dump(record, f, indent=1)
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
