# shellcheck shell=bash
# Ensembled Perplexity host scripts' common start, sourced first by ep-boot.sh, ep-watchdog.sh and
# ep-calibration-sync.sh. cloud-init writes it beside them (they look for it in their own directory, so the same
# scripts run from /opt/ep/bin on a host, from a test's temp root, or from the repository). It sets strict mode,
# defines `log` and `imds`, and reads the deployment's settings.
set -euo pipefail
# Command substitutions such as $(prepare_storage) must stop on errors too.
shopt -s inherit_errexit

# Paths: the defaults are those of infra/host/paths.ts; tests point them into a temp dir.
EP_HOST_ENV="${EP_HOST_ENV:-/etc/ep/host.env}"
EP_IMDS="${EP_IMDS:-http://169.254.169.254}"

# Every line names the script that logs it (ep-boot, ep-watchdog, ep-calibration-sync): they share one journal
# stream in CloudWatch.
log() {
  local name=${0##*/}
  echo "${name%.sh}: $*" >&2
}

# Settings rendered by infra/host/user-data.ts.
# shellcheck source=/dev/null
. "$EP_HOST_ENV"

# GET one instance metadata path through IMDSv2 (a session token first; IMDSv1 is disabled on our hosts).
imds() {
  local token
  token=$(curl -fsS --max-time 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "$EP_IMDS/latest/api/token")
  curl -fsS --max-time 5 -H "X-aws-ec2-metadata-token: $token" "$EP_IMDS/latest/meta-data/$1"
}
