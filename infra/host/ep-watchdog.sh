#!/usr/bin/env bash
# Ensembled Perplexity host watchdog, run by ep-watchdog.service. Once a minute it:
#  - publishes BackendRequests: vLLM requests running or waiting on this host (the sum over its models), the
#    metric the Auto Scaling group's target tracking follows;
#  - protects the host from scale-in while it has work, and lifts the protection after a few idle minutes;
#  - after the boot script finished, marks the host Unhealthy in its Auto Scaling group (which replaces it) when
#    it has failed for EP_WATCHDOG_MINUTES in a row: the controller does not answer, or fewer than EP_MIN_MODELS
#    models are ready although enough were downloaded. A host whose models could not be downloaded is left alone:
#    a replacement would fail the same way;
#  - after the boot script finished, syncs the calibration file with the artifacts bucket (ep-calibration-sync.sh:
#    uploads the file the controller made, downloads a newer one from the bucket).

# The common start (strict mode, `log`, the settings in host.env, `imds`), written beside this script.
# shellcheck source-path=SCRIPTDIR source=ep-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/ep-lib.sh" || exit

EP_CACHE_LINK="${EP_CACHE_LINK:-/var/lib/ep/hf-cache}"
EP_WATCHDOG_INTERVAL="${EP_WATCHDOG_INTERVAL:-60}"
# Idle minutes before the scale-in protection is lifted; loop rounds to run (0: forever; tests set it).
EP_IDLE_MINUTES="${EP_IDLE_MINUTES:-5}"
EP_WATCHDOG_ROUNDS="${EP_WATCHDOG_ROUNDS:-0}"
EP_BOOT_UNIT="${EP_BOOT_UNIT:-ep-boot.service}"
EP_CALIBRATION_SYNC="${EP_CALIBRATION_SYNC:-/opt/ep/bin/ep-calibration-sync.sh}"

: "${EP_REGION:?} ${EP_ASG_NAME:?} ${EP_MIN_MODELS:?} ${EP_WATCHDOG_MINUTES:?} ${EP_CONTROLLER_PORT:?}"

# vLLM requests running or waiting, summed over the host's backends (a backend that does not answer counts 0).
backend_requests() {
  local port total=0 n
  for port in ${EP_BACKEND_PORTS:-}; do
    n=$(curl -fsS --max-time 5 "http://127.0.0.1:$port/metrics" 2>/dev/null |
      awk '/^vllm:num_requests_(running|waiting)[{ ]/ { s += $NF } END { printf "%d", s }' || true)
    total=$((total + ${n:-0}))
  done
  echo "$total"
}

# Models whose download did not fail (download-models.py's ep-failed markers).
downloaded_models() {
  local pair marker n=0
  for pair in ${EP_MODEL_UNITS:-}; do
    # unit=marker=name
    marker=${pair#*=}
    marker=${marker%%=*}
    [[ -f $EP_CACHE_LINK/ep-failed/$marker ]] || n=$((n + 1))
  done
  echo "$n"
}

# 0 when the host serves (or cannot be helped by a replacement), 1 when it is failing.
host_failing() {
  curl -fsS --max-time 5 "http://127.0.0.1:$EP_CONTROLLER_PORT/healthz" >/dev/null || return 0
  curl -fsS --max-time 5 "http://127.0.0.1:$EP_CONTROLLER_PORT/readyz" >/dev/null && return 1
  (($(downloaded_models) >= EP_MIN_MODELS)) || return 1
  return 0
}

set_protection() {
  local flag=$1
  if aws autoscaling set-instance-protection --region "$EP_REGION" --instance-ids "$INSTANCE_ID" \
    --auto-scaling-group-name "$EP_ASG_NAME" "--$flag" >/dev/null; then
    log "scale-in protection: $flag"
    PROTECTED=$([[ $flag == protected-from-scale-in ]] && echo 1 || echo 0)
  else
    log "could not set scale-in protection ($flag)"
  fi
}

main() {
  INSTANCE_ID=$(imds instance-id)
  PROTECTED=0
  local failing=0 idle=0 round=0 requests booted
  log "watching $INSTANCE_ID in $EP_ASG_NAME: unhealthy after $EP_WATCHDOG_MINUTES failing minutes"
  while ((EP_WATCHDOG_ROUNDS == 0 || round < EP_WATCHDOG_ROUNDS)); do
    round=$((round + 1))
    requests=$(backend_requests)
    aws cloudwatch put-metric-data --region "$EP_REGION" --namespace "$EP_METRICS_NAMESPACE" \
      --metric-name BackendRequests --value "$requests" --unit Count \
      --dimensions "AutoScalingGroupName=$EP_ASG_NAME" >/dev/null || log "could not publish BackendRequests"

    if ((requests > 0)); then
      idle=0
      ((PROTECTED == 1)) || set_protection protected-from-scale-in
    else
      idle=$((idle + 1))
      if ((PROTECTED == 1 && idle * EP_WATCHDOG_INTERVAL >= EP_IDLE_MINUTES * 60)); then
        set_protection no-protected-from-scale-in
      fi
    fi

    # Only a booted host is judged: while the boot script runs (pulling, waiting for the token, downloading) the
    # host is not failing, it is starting.
    booted=0
    if systemctl is-active --quiet "$EP_BOOT_UNIT"; then
      booted=1
      "$EP_CALIBRATION_SYNC" || log "calibration sync failed"
    fi
    if ((booted == 1)) && host_failing; then
      failing=$((failing + 1))
      log "host failing for $failing round(s) (controller down, or fewer than $EP_MIN_MODELS models ready)"
      if ((failing * EP_WATCHDOG_INTERVAL >= EP_WATCHDOG_MINUTES * 60)); then
        log "failing for $EP_WATCHDOG_MINUTES minutes: marking $INSTANCE_ID Unhealthy for replacement"
        aws autoscaling set-instance-health --region "$EP_REGION" --instance-id "$INSTANCE_ID" \
          --health-status Unhealthy --no-should-respect-grace-period >/dev/null || log "set-instance-health failed"
        failing=0
      fi
    else
      failing=0
    fi
    sleep "$EP_WATCHDOG_INTERVAL"
  done
}

main "$@"
