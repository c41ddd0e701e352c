"""File helpers shared by the data, export and test-model scripts."""
import hashlib


def sha256_file(path, bufsize=1 << 20):
    """Hex sha256 of a file, read in chunks (the data packages are up to 1.3 GB)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(bufsize), b""):
            h.update(block)
    return h.hexdigest()
