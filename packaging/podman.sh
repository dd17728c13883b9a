# Sourced by the image scripts: how podman is run. On these machines podman needs runc, the
# cgroupfs manager and host networking; its default rlimits (raised above the host's hard limit)
# are refused, so the container gets the host's open-files limit and a modest process limit.
# Override PODMAN / PODMAN_RUN / PODMAN_BUILD for another setup (e.g. PODMAN=docker PODMAN_RUN= PODMAN_BUILD=).
# PODMAN_BUILD: docker format, since OCI images drop HEALTHCHECK.
PODMAN=${PODMAN:-podman --runtime runc --cgroup-manager=cgroupfs}
PODMAN_RUN=${PODMAN_RUN-"--network host --ulimit nofile=$(ulimit -Hn):$(ulimit -Hn) --ulimit nproc=4096:4096"}
PODMAN_BUILD=${PODMAN_BUILD-"--format docker"}
IMAGE=${IMAGE:-localhost/standin:latest}
