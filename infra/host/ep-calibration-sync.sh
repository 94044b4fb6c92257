#!/usr/bin/env bash
# Ensembled Perplexity calibration sync: keeps this host's calibration file and the deployment's copy in the
# artifacts bucket in step. ep-boot.sh runs it before starting the controller, ep-watchdog.sh once a minute. The
# controller makes the file itself when no calibration is in force (calibration.makeIfMissing) and reads it again
# every 30 s, so a file put in place here takes effect without a restart.
#
# The rule, against a marker of the last sync beside the file (the object's ETag and the file's sha256):
#  - the object changed since the last sync (an operator's re-calibration, another host's file): download it,
#    whatever happened to the local file meanwhile (the bucket wins);
#  - else, when the object this host synced is gone (an operator deleted it to have the fleet make a fresh one):
#    delete the local file too, and the controller makes a new one;
#  - else, when the local file changed since the last sync (the controller made it) or the bucket never had one:
#    upload it;
#  - else nothing.
# A host uploads only files its own controller made and downloads only objects it has not seen, so hosts never
# hand a file back and forth. When S3 cannot be reached the local file stays and the script succeeds.

# The common start (strict mode, `log`, the settings in host.env, `imds`), written beside this script.
# shellcheck source-path=SCRIPTDIR source=ep-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/ep-lib.sh" || exit

EP_CALIBRATION_DIR="${EP_CALIBRATION_DIR:-/var/lib/ep/calibration}"
# The controller container's user (the official Node image's `node`) writes its file into the directory.
EP_CONTROLLER_OWNER="${EP_CONTROLLER_OWNER:-1000:1000}"

: "${EP_REGION:?}"

FILE=$EP_CALIBRATION_DIR/calibration.json
MARKER=$EP_CALIBRATION_DIR/.s3-sync
BUCKET=
KEY=

sha() { sha256sum "$1" | cut -d ' ' -f 1; }

# Prints the object's ETag, or None when there is no object; fails when S3 cannot be asked.
object_etag() {
  aws s3api list-objects-v2 --region "$EP_REGION" --bucket "$BUCKET" --prefix "$KEY" \
    --query "Contents[?Key=='$KEY'].ETag | [0]" --output text | tr -d '"'
}

record() {
  printf '%s %s\n' "$1" "$2" >"$MARKER.tmp"
  mv -f "$MARKER.tmp" "$MARKER"
}

download() {
  local etag=$1 tmp
  tmp=$(mktemp "$EP_CALIBRATION_DIR/.download.XXXXXX")
  if ! aws s3 cp --only-show-errors --region "$EP_REGION" "s3://$BUCKET/$KEY" "$tmp"; then
    rm -f "$tmp"
    log "cannot download s3://$BUCKET/$KEY; keeping the local calibration"
    return 0
  fi
  chmod 0644 "$tmp"
  mv -f "$tmp" "$FILE"
  record "$etag" "$(sha "$FILE")"
  log "downloaded s3://$BUCKET/$KEY (ETag $etag); the controller loads it within its reload interval"
}

upload() {
  local tmp sum etag
  # A copy: the controller may replace the file while it uploads.
  tmp=$(mktemp "$EP_CALIBRATION_DIR/.upload.XXXXXX")
  cp "$FILE" "$tmp"
  sum=$(sha "$tmp")
  if ! etag=$(aws s3api put-object --region "$EP_REGION" --bucket "$BUCKET" --key "$KEY" \
    --body "$tmp" --content-type application/json --query ETag --output text); then
    rm -f "$tmp"
    log "cannot upload to s3://$BUCKET/$KEY; trying again next time"
    return 0
  fi
  rm -f "$tmp"
  record "${etag//\"/}" "$sum"
  log "uploaded this host's calibration to s3://$BUCKET/$KEY"
}

main() {
  mkdir -p "$EP_CALIBRATION_DIR"
  chown "$EP_CONTROLLER_OWNER" "$EP_CALIBRATION_DIR"
  [[ -n ${EP_CALIBRATION_S3_URI:-} ]] || return 0
  local uri=${EP_CALIBRATION_S3_URI#s3://} etag synced_etag='' synced_sum='' local_sum=''
  BUCKET=${uri%%/*}
  KEY=${uri#*/}
  if ! etag=$(object_etag); then
    log "cannot reach s3://$BUCKET/$KEY; keeping the local calibration"
    return 0
  fi
  if [[ -s $MARKER ]]; then
    read -r synced_etag synced_sum <"$MARKER"
  fi
  if [[ -s $FILE ]]; then
    local_sum=$(sha "$FILE")
  fi
  if [[ $etag != None && $etag != "$synced_etag" ]]; then
    download "$etag"
  elif [[ $etag == None && -n $synced_etag ]]; then
    rm -f "$FILE" "$MARKER"
    log "s3://$BUCKET/$KEY was deleted: removed the local copy, so the controller makes a fresh calibration"
  elif [[ -n $local_sum && ($etag == None || $local_sum != "$synced_sum") ]]; then
    upload
  elif [[ $etag == None ]]; then
    log "no calibration in s3://$BUCKET/$KEY yet; the controller makes one once its models are ready"
  fi
}

main "$@"
