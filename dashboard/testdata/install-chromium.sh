#!/bin/sh
# Installs Debian's chromium for the dashboard's browser test, which runs
# this when chromium is missing and the test runs as root.
set -e
command -v chromium || (apt-get update && apt-get install -y chromium)
