#!/bin/bash
# Sourced by start.sh: offers the quickstart notebooks in ~/work without replacing a copy the
# user already has (the folder lives on the node's data volume and outlives the container).
work="/home/${NB_USER:-jovyan}/work"
for notebook in /opt/dropstack/notebooks/*.ipynb; do
  target="${work}/$(basename "${notebook}")"
  if [ -d "${work}" ] && [ ! -e "${target}" ]; then
    cp "${notebook}" "${target}"
    chown "${NB_UID:-1000}:${NB_GID:-100}" "${target}" 2> /dev/null || true
  fi
done
