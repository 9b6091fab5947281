#!/bin/bash
# Sourced (not run) by the docker-stacks start.sh before jupyter_server starts, so the `unset`
# below reaches the server's environment: notebooks, kernels and logs never see PASSWORD.
# https://jupyter-docker-stacks.readthedocs.io/en/latest/using/common.html#startup-hooks
config_d="${DROPSTACK_JUPYTER_CONFIG_D:-/etc/jupyter/jupyter_server_config.d}"
if [ -n "${PASSWORD:-}" ]; then
  mkdir -p "${config_d}"
  # The password reaches Python through the environment, never the command line.
  PASSWORD="${PASSWORD}" python3 - "${config_d}/dropstack-password.json" <<'PY'
import json, os, sys
from jupyter_server.auth.security import passwd
config = {"IdentityProvider": {"token": ""}, "PasswordIdentityProvider": {"hashed_password": passwd(os.environ["PASSWORD"])}}
with open(sys.argv[1], "w") as f:
    json.dump(config, f)
os.chmod(sys.argv[1], 0o644)
PY
  echo "dropstack: notebook password set from PASSWORD"
else
  echo "dropstack: PASSWORD is empty; the server falls back to a token (see its log)" >&2
fi
unset PASSWORD
