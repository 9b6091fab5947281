#!/bin/bash
# Sourced (not run) by the docker-stacks start.sh before jupyter_server starts, so the `unset`
# below reaches the server's environment: notebooks, kernels and logs never see PASSWORD.
# https://jupyter-docker-stacks.readthedocs.io/en/latest/using/common.html#startup-hooks
# jupyter_server reads jupyter_server_config.json from each folder of its config path, but not
# jupyter_server_config.d/ (that is for enabling extensions): a setting there is ignored and the
# server falls back to a random token. /usr/local/etc/jupyter is on the path and the base image
# leaves it to us (the Dockerfile puts dropstack's other settings there too).
config_dir="${DROPSTACK_JUPYTER_CONFIG_DIR:-/usr/local/etc/jupyter}"
if [ -n "${PASSWORD:-}" ]; then
  mkdir -p "${config_dir}"
  # The password reaches Python through the environment, never the command line.
  if PASSWORD="${PASSWORD}" python3 - "${config_dir}/jupyter_server_config.json" <<'PY'
import json, os, sys
from jupyter_server.auth.security import passwd
config = {"IdentityProvider": {"token": ""}, "PasswordIdentityProvider": {"hashed_password": passwd(os.environ["PASSWORD"])}}
with open(sys.argv[1], "w") as f:
    json.dump(config, f)
os.chmod(sys.argv[1], 0o644)
PY
  then
    echo "dropstack: notebook password set from PASSWORD"
  else
    echo "dropstack: the notebook password could not be set (see above); the server falls back to a token (see its log)" >&2
  fi
else
  echo "dropstack: PASSWORD is empty; the server falls back to a token (see its log)" >&2
fi
unset PASSWORD
