// Package oci publishes a release's linux binaries as a multi-platform
// container image: one reproducible image per platform, an OCI image index
// with annotations over them, tags that follow the release's channel, and a
// cosign signature, pushed to any OCI registry without a Docker daemon.
package oci
