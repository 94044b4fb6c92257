"""Download each model once into the shared Hugging Face cache.

Run by the ep-model-download container (the vLLM image's own Python and huggingface_hub) before any vLLM
server starts; the servers then read the cache read-only with HF_HUB_OFFLINE=1.

Usage: download-models.py MODEL_ID[@REVISION] ...

Each model is downloaded on its own, with a bounded number of attempts: one model the token may not read (a gated
repository whose license was not accepted) or that keeps failing does not stop the others. A marker per model and
revision records the outcome: `ep-complete/<marker>` for a finished download (a reboot does not ask the Hub again;
after a stop/start the instance store, and with it the markers, is new) and `ep-failed/<marker>` with the reason
for one that could not be downloaded, which the boot script reads to leave that model's server stopped. Exits 0
when at least one model is in the cache, 1 when none is. Weight formats vLLM never loads are skipped, and so are
pickle weights when the repository has safetensors.
"""

import os
import sys
import time
from pathlib import Path

from huggingface_hub import list_repo_files, snapshot_download

NEVER_LOADED = ["*.gguf", "*.h5", "*.msgpack", "*.ot", "*.onnx", "*.tflite", "original/*", "coreml/*"]
PICKLE_WEIGHTS = ["*.bin", "*.pt", "*.pth"]
ATTEMPTS = int(os.environ.get("EP_DOWNLOAD_ATTEMPTS", "4"))
BACKOFF_SECONDS = float(os.environ.get("EP_DOWNLOAD_BACKOFF_SECONDS", "30"))
# Errors another attempt cannot fix: the token may not read the repository, or it does not exist.
PERMANENT = {"GatedRepoError", "RepositoryNotFoundError", "RevisionNotFoundError", "EntryNotFoundError"}


def ignore_patterns(files):
    """Patterns to skip for a repository holding these files."""
    patterns = list(NEVER_LOADED)
    if any(f.endswith(".safetensors") for f in files):
        patterns += PICKLE_WEIGHTS
        # Mistral-style repos ship the same weights twice; vLLM loads the sharded HF ones.
        if any(f.startswith("model") and f.endswith(".safetensors") for f in files):
            patterns.append("consolidated*")
    return patterns


def status_code(err):
    response = getattr(err, "response", None)
    return getattr(response, "status_code", None)


def is_permanent(err):
    return type(err).__name__ in PERMANENT or status_code(err) in (401, 403, 404)


def reason(err, repo_id):
    code = status_code(err)
    if type(err).__name__ == "GatedRepoError" or code in (401, 403):
        return (f"access refused ({code or 'gated'}): accept the license at https://huggingface.co/{repo_id} "
                "with the account of the token, or use a token that has access")
    if type(err).__name__ == "RepositoryNotFoundError" or code == 404:
        return f"not found ({code or 404}): check the id, or whether the token may see https://huggingface.co/{repo_id}"
    return f"{type(err).__name__}: {err}"


def download(repo_id, revision):
    files = list_repo_files(repo_id, revision=revision or None)
    return snapshot_download(
        repo_id,
        revision=revision or None,
        ignore_patterns=ignore_patterns(files),
        max_workers=16,
    )


def main(refs):
    home = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface"))
    complete, failed = home / "ep-complete", home / "ep-failed"
    complete.mkdir(parents=True, exist_ok=True)
    failed.mkdir(parents=True, exist_ok=True)
    ok = 0
    for ref in refs:
        repo_id, _, revision = ref.partition("@")
        marker = f"{repo_id.replace('/', '--')}@{revision or 'default'}"
        (failed / marker).unlink(missing_ok=True)
        if (complete / marker).exists():
            print(f"{ref}: already in the cache", flush=True)
            ok += 1
            continue
        for attempt in range(1, ATTEMPTS + 1):
            print(f"{ref}: downloading (attempt {attempt} of {ATTEMPTS})", flush=True)
            try:
                path = download(repo_id, revision)
            except Exception as err:  # noqa: BLE001 - any failure of one model must not stop the others
                why = reason(err, repo_id)
                print(f"{ref}: failed: {why}", flush=True)
                if is_permanent(err) or attempt == ATTEMPTS:
                    (failed / marker).write_text(f"{why}\n")
                    print(f"{ref}: UNAVAILABLE after {attempt} attempt(s): {why}", flush=True)
                    break
                time.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
            else:
                (complete / marker).write_text(f"{path}\n")
                print(f"{ref}: done ({path})", flush=True)
                ok += 1
                break
    print(f"{ok} of {len(refs)} models in the cache", flush=True)
    return 0 if ok > 0 else 1


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: download-models.py MODEL_ID[@REVISION] ...")
    sys.exit(main(sys.argv[1:]))
