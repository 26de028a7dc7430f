#!/bin/sh
# Writes Alertmanager's configuration from the environment, then (with `--exec`) starts
# Alertmanager on it: the alertmanager service's entrypoint in docker-compose.yml.
#
# Notifications are off until a channel is configured; each variable below turns one on,
# and every configured channel gets every alert (critical ones repeated hourly, warnings
# every 4 hours), worded by templates/wowlogs.tmpl:
#   WOWLOGS_ALERT_EMAIL_TO            address(es) to mail, with WOWLOGS_ALERT_EMAIL_FROM,
#                                     WOWLOGS_ALERT_SMTP_SMARTHOST (host:port) and, if the
#                                     server wants them, WOWLOGS_ALERT_SMTP_USERNAME and
#                                     WOWLOGS_ALERT_SMTP_PASSWORD
#   WOWLOGS_ALERT_SLACK_WEBHOOK_URL   a Slack incoming webhook (WOWLOGS_ALERT_SLACK_CHANNEL
#                                     to override its channel)
#   WOWLOGS_ALERT_DISCORD_WEBHOOK_URL a Discord channel webhook
#   WOWLOGS_ALERT_WEBHOOK_URL         any other receiver speaking Alertmanager's webhook JSON
# Usage: render.sh OUT [--exec ALERTMANAGER_ARGS...]
# deploy/checks/stack.sh renders it with each channel and none, checks every result
# with amtool and tests its routing (amtool config routes test).
set -eu
out="$1"
shift
here="$(cd "$(dirname "$0")" && pwd)"

# A YAML double-quoted string.
quoted() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }

channels=""
if [ -n "${WOWLOGS_ALERT_EMAIL_TO:-}" ]; then
  : "${WOWLOGS_ALERT_EMAIL_FROM:?set WOWLOGS_ALERT_EMAIL_FROM with WOWLOGS_ALERT_EMAIL_TO}"
  : "${WOWLOGS_ALERT_SMTP_SMARTHOST:?set WOWLOGS_ALERT_SMTP_SMARTHOST (host:port) with WOWLOGS_ALERT_EMAIL_TO}"
  channels="$channels
    email_configs:
      - to: $(quoted "$WOWLOGS_ALERT_EMAIL_TO")
        from: $(quoted "$WOWLOGS_ALERT_EMAIL_FROM")
        smarthost: $(quoted "$WOWLOGS_ALERT_SMTP_SMARTHOST")
        send_resolved: true
        headers:
          Subject: '{{ template \"wowlogs.title\" . }}'
        html: '{{ template \"wowlogs.html\" . }}'
        text: '{{ template \"wowlogs.text\" . }}'"
  if [ -n "${WOWLOGS_ALERT_SMTP_USERNAME:-}" ]; then
    channels="$channels
        auth_username: $(quoted "$WOWLOGS_ALERT_SMTP_USERNAME")
        auth_password: $(quoted "${WOWLOGS_ALERT_SMTP_PASSWORD:-}")"
  fi
fi
if [ -n "${WOWLOGS_ALERT_SLACK_WEBHOOK_URL:-}" ]; then
  channels="$channels
    slack_configs:
      - api_url: $(quoted "$WOWLOGS_ALERT_SLACK_WEBHOOK_URL")
        send_resolved: true
        title: '{{ template \"wowlogs.title\" . }}'
        text: '{{ template \"wowlogs.text\" . }}'"
  if [ -n "${WOWLOGS_ALERT_SLACK_CHANNEL:-}" ]; then
    channels="$channels
        channel: $(quoted "$WOWLOGS_ALERT_SLACK_CHANNEL")"
  fi
fi
if [ -n "${WOWLOGS_ALERT_DISCORD_WEBHOOK_URL:-}" ]; then
  channels="$channels
    discord_configs:
      - webhook_url: $(quoted "$WOWLOGS_ALERT_DISCORD_WEBHOOK_URL")
        send_resolved: true
        title: '{{ template \"wowlogs.title\" . }}'
        message: '{{ template \"wowlogs.text\" . }}'"
fi
if [ -n "${WOWLOGS_ALERT_WEBHOOK_URL:-}" ]; then
  channels="$channels
    webhook_configs:
      - url: $(quoted "$WOWLOGS_ALERT_WEBHOOK_URL")
        send_resolved: true"
fi
# With no channel, alerts are kept (Alertmanager's UI and API show them) and sent nowhere.
if [ -n "$channels" ]; then notify=notify; else notify=off; fi

cat > "$out" <<YAML
# Rendered by deploy/alertmanager/render.sh from the environment; do not edit.
templates:
  - $here/templates/*.tmpl

route:
  receiver: $notify
  group_by: [alertname, job, group]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
  routes:
    - matchers: ['severity="critical"']
      receiver: $notify
      repeat_interval: 1h
    - matchers: ['severity="warning"']
      receiver: $notify

inhibit_rules:
  # A service that is down explains its other alerts.
  - source_matchers: ['alertname="WowlogsServiceDown"']
    target_matchers: ['severity="warning"']
    equal: [job]

receivers:
  - name: off
  - name: notify$channels
YAML

if [ "${1:-}" = "--exec" ]; then
  shift
  exec /bin/alertmanager --config.file="$out" "$@"
fi
