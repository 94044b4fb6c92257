"""Download each model once into the shared Hugging Face cache.

Run by the ep-model-download container (the vLLM image's own Python and huggingface_hub) before any vLLM
server starts; the servers then read the cache read-only with HF_HUB_OFFLINE=1.

Usage: download-models.py MODEL_ID[@REVISION] ...

A marker per model and revision records a finished download, so a reboot does not ask the Hub again (the
instance store survives a reboot; after a stop/start the disk, and with it the markers, is new). Weight
formats vLLM never loads are skipped, and so are pickle weights when the repository has safetensors.
"""

import os
import sys
from pathlib import Path

from huggingface_hub import list_repo_files, snapshot_download

NEVER_LOADED = ["*.gguf", "*.h5", "*.msgpack", "*.ot", "*.onnx", "*.tflite", "original/*", "coreml/*"]
PICKLE_WEIGHTS = ["*.bin", "*.pt", "*.pth"]


def ignore_patterns(files):
    """Patterns to skip for a repository holding these files."""
    patterns = list(NEVER_LOADED)
    if any(f.endswith(".safetensors") for f in files):
        patterns += PICKLE_WEIGHTS
        # Mistral-style repos ship the same weights twice; vLLM loads the sharded HF ones.
        if any(f.startswith("model") and f.endswith(".safetensors") for f in files):
            patterns.append("consolidated*")
    return patterns


def main(refs):
    home = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface"))
    markers = home / "ep-complete"
    markers.mkdir(parents=True, exist_ok=True)
    for ref in refs:
        repo_id, _, revision = ref.partition("@")
        marker = markers / f"{repo_id.replace('/', '--')}@{revision or 'default'}"
        if marker.exists():
            print(f"{ref}: already in the cache", flush=True)
            continue
        print(f"{ref}: downloading", flush=True)
        files = list_repo_files(repo_id, revision=revision or None)
        path = snapshot_download(
            repo_id,
            revision=revision or None,
            ignore_patterns=ignore_patterns(files),
            max_workers=16,
        )
        marker.write_text(f"{path}\n")
        print(f"{ref}: done ({path})", flush=True)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: download-models.py MODEL_ID[@REVISION] ...")
    main(sys.argv[1:])
