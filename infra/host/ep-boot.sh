#!/usr/bin/env bash
# Ensembled Perplexity host bootstrap, run by ep-boot.service on every boot (cloud-init writes it, its units
# and /etc/ep/host.env). It mounts the model cache, starts pulling the images, waits for the Hugging Face
# token, fetches the controller bundle and its config, downloads every model it can (each on its own), then
# starts one vLLM container per downloaded model and the controller (with the deployment's calibration file from
# the artifacts bucket, when there is one yet). A model that could not be downloaded is reported (this log, the
# ModelsUnavailable metric) and left stopped; the others are served.
# Re-running it is safe: a disk with a filesystem is never formatted, units are started, never duplicated.

# The common start (strict mode, `log`, the settings in host.env, `imds`), written beside this script.
# shellcheck source-path=SCRIPTDIR source=ep-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/ep-lib.sh" || exit

# Paths: the defaults are those of infra/host/paths.ts; tests point them into a temp dir.
EP_ETC_DIR="${EP_ETC_DIR:-/etc/ep}"
EP_BUNDLE_DIR="${EP_BUNDLE_DIR:-/opt/ep/controller}"
EP_CACHE_LINK="${EP_CACHE_LINK:-/var/lib/ep/hf-cache}"
EP_VLLM_CACHE_LINK="${EP_VLLM_CACHE_LINK:-/var/lib/ep/vllm-cache}"
EP_CALIBRATION_DIR="${EP_CALIBRATION_DIR:-/var/lib/ep/calibration}"
EP_CALIBRATION_SYNC="${EP_CALIBRATION_SYNC:-/opt/ep/bin/ep-calibration-sync.sh}"
export EP_CALIBRATION_DIR
# Where the Deep Learning AMI mounts the instance store, where we mount it on other AMIs, and the fallback
# on the root volume for instance types without one.
EP_DLAMI_NVME="${EP_DLAMI_NVME:-/opt/dlami/nvme}"
EP_NVME_MOUNT="${EP_NVME_MOUNT:-/mnt/ep-nvme}"
EP_ROOT_STORAGE="${EP_ROOT_STORAGE:-/var/lib/ep/storage}"
EP_MD_DEVICE="${EP_MD_DEVICE:-/dev/md/ep-cache}"
EP_RETRY_SLEEP="${EP_RETRY_SLEEP:-5}"
# How often to look for the Hugging Face token, and how many times (0: until it is there).
EP_TOKEN_RETRY_SLEEP="${EP_TOKEN_RETRY_SLEEP:-30}"
EP_TOKEN_ATTEMPTS="${EP_TOKEN_ATTEMPTS:-0}"

die() {
  log "error: $*"
  exit 1
}

: "${EP_HF_TOKEN_SECRET_ID:?} ${EP_BUNDLE_S3_URI:?} ${EP_HOST_CONFIG_S3_URI:?} ${EP_GPUS_NEEDED:?}"
: "${EP_DOWNLOAD_UNIT:?} ${EP_SERVER_UNITS:?} ${EP_MIN_MODELS:?}"

# The driver may still be initialising early in boot: wait for every GPU the models were placed on.
wait_for_gpus() {
  local n=0 attempt
  for attempt in $(seq 1 30); do
    n=$(nvidia-smi --query-gpu=index --format=csv,noheader 2>/dev/null | grep -c . || true)
    if ((n >= EP_GPUS_NEEDED)); then
      log "$n GPUs visible, the models use $EP_GPUS_NEEDED"
      return 0
    fi
    log "waiting for GPUs ($n of $EP_GPUS_NEEDED visible, attempt $attempt)"
    sleep "$EP_RETRY_SLEEP"
  done
  die "the models need $EP_GPUS_NEEDED GPUs but nvidia-smi shows $n"
}

# Instance-store NVMe disks (EBS volumes report the model "Amazon Elastic Block Store").
instance_store_disks() {
  lsblk -dnpo NAME,MODEL | awk '/Amazon EC2 NVMe Instance Storage/ { print $1 }'
}

# Prints the directory that will hold the model cache, mounting the instance store when nobody has yet.
prepare_storage() {
  local disks=() dev target attempt
  mapfile -t disks < <(instance_store_disks)
  if ((${#disks[@]} == 0)); then
    mkdir -p "$EP_ROOT_STORAGE"
    log "no instance-store NVMe: the model cache lives on the root volume ($EP_ROOT_STORAGE)"
    echo "$EP_ROOT_STORAGE"
    return
  fi
  # On a Deep Learning AMI its own boot service assembles and mounts the disks: give it time, never race it.
  if [[ -d $EP_DLAMI_NVME ]]; then
    for attempt in $(seq 1 24); do
      if mountpoint -q "$EP_DLAMI_NVME"; then
        echo "$EP_DLAMI_NVME"
        return
      fi
      log "waiting for the DLAMI to mount $EP_DLAMI_NVME (attempt $attempt)"
      sleep "$EP_RETRY_SLEEP"
    done
  fi
  if mountpoint -q "$EP_NVME_MOUNT"; then
    echo "$EP_NVME_MOUNT"
    return
  fi
  # A disk already mounted elsewhere (e.g. cloud-init's ephemeral0 default) is used where it is.
  for dev in "${disks[@]}"; do
    target=$(findmnt -rn -o TARGET -S "$dev" | head -n 1 || true)
    if [[ -n $target ]]; then
      echo "$target"
      return
    fi
  done
  if ((${#disks[@]} == 1)); then
    dev=${disks[0]}
  else
    # RAID 0 over all disks; after a reboot the array is assembled again, after a stop/start it is new.
    dev=$EP_MD_DEVICE
    if [[ ! -e $dev ]]; then
      mdadm --assemble "$dev" "${disks[@]}" >&2 ||
        mdadm --create "$dev" --level=0 --raid-devices="${#disks[@]}" --run "${disks[@]}" >&2
    fi
  fi
  # Format only a device without a filesystem: after a reboot the cache on it is still good.
  if [[ -z $(blkid -o value -s TYPE "$dev" || true) ]]; then
    log "formatting $dev"
    mkfs.ext4 -q -F -m 0 -L ep-cache -E lazy_itable_init=1,nodiscard "$dev" >&2
  fi
  mkdir -p "$EP_NVME_MOUNT"
  mount -o noatime "$dev" "$EP_NVME_MOUNT" >&2
  echo "$EP_NVME_MOUNT"
}

# Points a fixed cache path the units mount (model cache, vLLM's compile cache) at the chosen storage.
link_cache() {
  local dir="$1/$2" link=$3
  mkdir -p "$dir" "$(dirname "$link")"
  if [[ -d $link && ! -L $link ]]; then
    die "$link is a directory; expected a symlink to the cache storage"
  fi
  ln -sfn "$dir" "$link"
  log "cache: $link -> $dir"
}

# Logs in to Docker Hub when the deployment has a login secret with a value (user:token); else pulls anonymously.
docker_login() {
  [[ -n ${EP_DOCKERHUB_SECRET_ID:-} ]] || return 0
  local cred
  if ! cred=$(aws secretsmanager get-secret-value --region "$EP_REGION" \
    --secret-id "$EP_DOCKERHUB_SECRET_ID" --query SecretString --output text); then
    log "Docker Hub secret $EP_DOCKERHUB_SECRET_ID has no value; pulling anonymously (rate-limited per address)"
    return 0
  fi
  cred=${cred//[$'\t\r\n ']/}
  if [[ $cred != ?*:?* ]]; then
    log "Docker Hub secret $EP_DOCKERHUB_SECRET_ID must hold user:token; pulling anonymously"
    return 0
  fi
  printf '%s' "${cred#*:}" | docker login --username "${cred%%:*}" --password-stdin >/dev/null &&
    log "logged in to Docker Hub as ${cred%%:*}"
}

# Pulls every image (a few attempts each). Runs in the background while the script waits for the token.
pull_images() {
  local image attempt
  docker_login || log "docker login failed; pulling anonymously"
  for image in $EP_IMAGES; do
    for attempt in 1 2 3 4 5; do
      if docker pull --quiet "$image" >/dev/null; then
        log "pulled $image"
        break
      fi
      ((attempt < 5)) || return 1
      log "pull of $image failed (attempt $attempt); retrying"
      sleep "$EP_RETRY_SLEEP"
    done
  done
}

# Writes the token env file (0600) read by the download container. The secret's value is the plain token.
# On a reboot an earlier token is kept if Secrets Manager cannot be read: the models are already downloaded.
# Returns 1 while the secret has no value.
fetch_hf_token() {
  local token
  if ! token=$(aws secretsmanager get-secret-value --region "$EP_REGION" \
    --secret-id "$EP_HF_TOKEN_SECRET_ID" --query SecretString --output text); then
    if [[ -s "$EP_ETC_DIR/hf.env" ]]; then
      log "cannot read secret $EP_HF_TOKEN_SECRET_ID; keeping the token from an earlier boot"
      return 0
    fi
    log "waiting for the Hugging Face token; set it with: aws secretsmanager put-secret-value" \
      "--region $EP_REGION --secret-id $EP_HF_TOKEN_SECRET_ID --secret-string hf_..."
    return 1
  fi
  token=${token//[$'\t\r\n ']/}
  [[ $token =~ ^[A-Za-z0-9_-]+$ ]] || die "secret $EP_HF_TOKEN_SECRET_ID must hold the plain token string"
  (
    umask 077
    printf 'HF_TOKEN=%s\n' "$token" >"$EP_ETC_DIR/hf.env.tmp"
  )
  mv -f "$EP_ETC_DIR/hf.env.tmp" "$EP_ETC_DIR/hf.env"
}

# Waits for the token (the images keep pulling meanwhile).
wait_for_hf_token() {
  local attempt=0
  until fetch_hf_token; do
    attempt=$((attempt + 1))
    if ((EP_TOKEN_ATTEMPTS > 0 && attempt >= EP_TOKEN_ATTEMPTS)); then
      die "no Hugging Face token after $attempt attempts"
    fi
    sleep "$EP_TOKEN_RETRY_SLEEP"
  done
}

# Publishes one host metric (best effort: a CloudWatch outage must not stop the boot).
put_metric() {
  aws cloudwatch put-metric-data --region "$EP_REGION" --namespace "$EP_METRICS_NAMESPACE" \
    --metric-name "$1" --value "$2" --unit Count \
    --dimensions "AutoScalingGroupName=$EP_ASG_NAME" >/dev/null ||
    log "could not publish metric $1"
}

# Prints the server units to start: every vLLM unit whose model downloaded, and the controller. Reports the
# models download-models.py marked as failed (with its reason) and publishes how many there are.
available_units() {
  local pair unit marker name failed=0 ready=0 reason
  local -A skip=()
  : >"$EP_ETC_DIR/unavailable.tsv"
  for pair in ${EP_MODEL_UNITS:-}; do
    IFS='=' read -r unit marker name <<<"$pair"
    if [[ -f $EP_CACHE_LINK/ep-failed/$marker ]]; then
      reason=$(head -n 1 "$EP_CACHE_LINK/ep-failed/$marker")
      log "model $name (${marker%@*}) UNAVAILABLE: $reason (its server $unit stays stopped; the other models" \
        "are served)"
      printf '%s\t%s\n' "$name" "$reason" >>"$EP_ETC_DIR/unavailable.tsv"
      skip[$unit]=1
      failed=$((failed + 1))
    else
      ready=$((ready + 1))
    fi
  done
  put_metric ModelsUnavailable "$failed"
  if ((ready < EP_MIN_MODELS)); then
    log "only $ready models downloaded but the host needs $EP_MIN_MODELS to take traffic; it stays out of" \
      "the load balancer (a replacement host would fail the same way, so the watchdog leaves it running)"
  fi
  for unit in $EP_SERVER_UNITS; do
    [[ -n ${skip[$unit]:-} ]] || echo "$unit"
  done
}

# Writes each unavailable model's reason into the controller config, so /v1/models shows it and the controller
# does not wait for a server that will not start. Models that are available again lose their mark.
mark_unavailable() {
  python3 - "$EP_ETC_DIR/host-config.json" "$EP_ETC_DIR/unavailable.tsv" <<'PY'
import json, sys
path, listing = sys.argv[1], sys.argv[2]
with open(listing) as f:
    reasons = dict(line.rstrip("\n").split("\t", 1) for line in f if "\t" in line)
with open(path) as f:
    config = json.load(f)
for model in config.get("models", []):
    model.pop("unavailable", None)
    if model.get("name") in reasons:
        model["unavailable"] = reasons[model["name"]]
with open(path + ".tmp", "w") as f:
    json.dump(config, f)
PY
  chmod 0644 "$EP_ETC_DIR/host-config.json.tmp"
  mv -f "$EP_ETC_DIR/host-config.json.tmp" "$EP_ETC_DIR/host-config.json"
}

# Copies an S3 object to a file atomically, optionally checking its sha256. If S3 fails and an earlier copy
# exists (a reboot), keeps serving with that copy rather than leaving the host down.
fetch_s3() {
  local uri=$1 dest=$2 sha=${3:-} tmp
  tmp=$(mktemp "$dest.XXXXXX")
  if ! aws s3 cp --only-show-errors --region "$EP_REGION" "$uri" "$tmp"; then
    rm -f "$tmp"
    [[ -s $dest ]] || die "cannot fetch $uri"
    log "cannot fetch $uri; keeping the copy from an earlier boot"
    return
  fi
  if [[ -n $sha ]] && ! echo "$sha  $tmp" | sha256sum --check --status; then
    rm -f "$tmp"
    die "$uri does not match its sha256 $sha"
  fi
  chmod 0644 "$tmp"
  mv -f "$tmp" "$dest"
}

main() {
  if [[ -z ${EP_REGION:-} ]]; then
    EP_REGION=$(imds placement/region)
  fi
  log "instance $(imds instance-id || echo unknown) in $EP_REGION"
  wait_for_gpus

  local storage
  storage=$(prepare_storage)
  link_cache "$storage" ep-hf-cache "$EP_CACHE_LINK"
  link_cache "$storage" ep-vllm-cache "$EP_VLLM_CACHE_LINK"

  # The images (the vLLM one is ~10 GB) pull while the host waits for the token and fetches the rest.
  local pulls
  pull_images &
  pulls=$!

  mkdir -p "$EP_ETC_DIR" "$EP_BUNDLE_DIR"
  wait_for_hf_token
  fetch_s3 "$EP_BUNDLE_S3_URI" "$EP_BUNDLE_DIR/controller.mjs" "${EP_BUNDLE_SHA256:-}"
  fetch_s3 "$EP_HOST_CONFIG_S3_URI" "$EP_ETC_DIR/host-config.json"
  # The calibration directory the controller mounts, with the deployment's file in it if the bucket has one. The
  # first boot of a deployment finds none: the controller makes it, the watchdog uploads it.
  "$EP_CALIBRATION_SYNC" || log "calibration sync failed; the controller keeps or makes its own"
  wait "$pulls" || die "could not pull $EP_IMAGES"

  # (cloud-init's runcmd ran daemon-reload after writing the units; later boots find them on disk.)
  # Every model once, before any server starts (a oneshot unit: this waits until it has finished). It fails
  # only when no model at all could be downloaded; then this script fails and systemd runs it again.
  log "downloading models"
  systemctl start "$EP_DOWNLOAD_UNIT"

  local units
  mapfile -t units < <(available_units)
  mark_unavailable
  systemctl enable "${units[@]}"
  # --no-block: the servers are ordered after ep-boot.service, which is this script still running.
  systemctl start --no-block "${units[@]}"
  log "started ${units[*]}"
}

main "$@"
