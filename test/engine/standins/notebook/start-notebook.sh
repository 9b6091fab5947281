#!/bin/bash
# The server docker-stacks' start-notebook runs, on 8888, for all addresses.
exec jupyter server --ServerApp.ip=0.0.0.0 --ServerApp.port=8888 --ServerApp.root_dir=/home/jovyan "$@"
