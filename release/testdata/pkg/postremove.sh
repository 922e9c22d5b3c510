#!/bin/sh
rm -rf /var/lib/relkit-test-hello
