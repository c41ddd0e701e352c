"""diffusekit training package: data degradations, schedules, the shared UNet, samplers and metrics."""
import os

CACHE = os.path.expanduser(os.environ.get("DIFFUSEKIT_CACHE", "~/.cache/diffusekit"))
