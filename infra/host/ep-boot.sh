#!/usr/bin/env bash
# Ensembled Perplexity host bootstrap, run by ep-boot.service on every boot (cloud-init writes it, its units
# and /etc/ep/host.env). It mounts the model cache, fetches the Hugging Face token, the controller bundle and
# its config, downloads every model once, then starts one vLLM container per model and the controller.
# Re-running it is safe: a disk with a filesystem is never formatted, units are started, never duplicated.
set -euo pipefail
# Command substitutions such as $(prepare_storage) must stop on errors too.
shopt -s inherit_errexit

# Paths: the defaults are those of infra/host/paths.ts; tests point them into a temp dir.
EP_HOST_ENV="${EP_HOST_ENV:-/etc/ep/host.env}"
EP_ETC_DIR="${EP_ETC_DIR:-/etc/ep}"
EP_BUNDLE_DIR="${EP_BUNDLE_DIR:-/opt/ep/controller}"
EP_CACHE_LINK="${EP_CACHE_LINK:-/var/lib/ep/hf-cache}"
# Where the Deep Learning AMI mounts the instance store, where we mount it on other AMIs, and the fallback
# on the root volume for instance types without one.
EP_DLAMI_NVME="${EP_DLAMI_NVME:-/opt/dlami/nvme}"
EP_NVME_MOUNT="${EP_NVME_MOUNT:-/mnt/ep-nvme}"
EP_ROOT_STORAGE="${EP_ROOT_STORAGE:-/var/lib/ep/storage}"
EP_MD_DEVICE="${EP_MD_DEVICE:-/dev/md/ep-cache}"
EP_IMDS="${EP_IMDS:-http://169.254.169.254}"
EP_RETRY_SLEEP="${EP_RETRY_SLEEP:-5}"

log() { echo "ep-boot: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# Settings rendered by infra/host/user-data.ts.
# shellcheck source=/dev/null
. "$EP_HOST_ENV"
: "${EP_HF_TOKEN_SECRET_ID:?} ${EP_BUNDLE_S3_URI:?} ${EP_HOST_CONFIG_S3_URI:?} ${EP_GPUS_NEEDED:?}"
: "${EP_DOWNLOAD_UNIT:?} ${EP_SERVER_UNITS:?}"

# GET one instance metadata path through IMDSv2 (a session token first; IMDSv1 is disabled on our hosts).
imds() {
  local token
  token=$(curl -fsS --max-time 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "$EP_IMDS/latest/api/token")
  curl -fsS --max-time 5 -H "X-aws-ec2-metadata-token: $token" "$EP_IMDS/latest/meta-data/$1"
}

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

# Points the fixed cache path the units mount at the chosen storage.
link_cache() {
  local dir="$1/ep-hf-cache"
  mkdir -p "$dir" "$(dirname "$EP_CACHE_LINK")"
  if [[ -d $EP_CACHE_LINK && ! -L $EP_CACHE_LINK ]]; then
    die "$EP_CACHE_LINK is a directory; expected a symlink to the cache storage"
  fi
  ln -sfn "$dir" "$EP_CACHE_LINK"
  log "model cache: $EP_CACHE_LINK -> $dir"
}

# Writes the token env file (0600) read by the download container. The secret's value is the plain token.
# On a reboot an earlier token is kept if Secrets Manager cannot be read: the models are already downloaded.
fetch_hf_token() {
  local token
  if ! token=$(aws secretsmanager get-secret-value --region "$EP_REGION" \
    --secret-id "$EP_HF_TOKEN_SECRET_ID" --query SecretString --output text); then
    if [[ -s "$EP_ETC_DIR/hf.env" ]]; then
      log "cannot read secret $EP_HF_TOKEN_SECRET_ID; keeping the token from an earlier boot"
      return
    fi
    die "cannot read secret $EP_HF_TOKEN_SECRET_ID; set the Hugging Face token with: aws secretsmanager" \
      "put-secret-value --region $EP_REGION --secret-id $EP_HF_TOKEN_SECRET_ID --secret-string hf_..."
  fi
  token=${token//[$'\t\r\n ']/}
  [[ $token =~ ^[A-Za-z0-9_-]+$ ]] || die "secret $EP_HF_TOKEN_SECRET_ID must hold the plain token string"
  (
    umask 077
    printf 'HF_TOKEN=%s\n' "$token" >"$EP_ETC_DIR/hf.env.tmp"
  )
  mv -f "$EP_ETC_DIR/hf.env.tmp" "$EP_ETC_DIR/hf.env"
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
  link_cache "$storage"

  mkdir -p "$EP_ETC_DIR" "$EP_BUNDLE_DIR"
  fetch_hf_token
  fetch_s3 "$EP_BUNDLE_S3_URI" "$EP_BUNDLE_DIR/controller.mjs" "${EP_BUNDLE_SHA256:-}"
  fetch_s3 "$EP_HOST_CONFIG_S3_URI" "$EP_ETC_DIR/host-config.json"

  # (cloud-init's runcmd ran daemon-reload after writing the units; later boots find them on disk.)
  # Every model once, before any server starts (a oneshot unit: this waits until it has finished).
  log "downloading models"
  systemctl start "$EP_DOWNLOAD_UNIT"

  local units
  read -ra units <<<"$EP_SERVER_UNITS"
  systemctl enable "${units[@]}"
  # --no-block: the servers are ordered after ep-boot.service, which is this script still running.
  systemctl start --no-block "${units[@]}"
  log "started ${units[*]}"
}

main "$@"
