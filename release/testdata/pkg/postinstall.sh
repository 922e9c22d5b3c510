#!/bin/sh
set -e
mkdir -p /var/lib/relkit-test-hello
echo configured > /var/lib/relkit-test-hello/postinstall
