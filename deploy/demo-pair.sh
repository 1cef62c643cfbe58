#!/usr/bin/env bash
# For the compose demo (compose.yaml): creates an admin on each of the three nodes and pairs
# ash with birch and with cedar (ash is the hub: birch and cedar learn of each other
# through it). Run from deploy/ after `podman compose up -d` (or docker compose).
# The admins' password is asked once (or read from KINDRED_DEMO_PASSWORD).
set -euo pipefail
cd "$(dirname "$0")"

compose() {
    if command -v podman >/dev/null 2>&1; then podman compose "$@"; else docker compose "$@"; fi
}

if [ -z "${KINDRED_DEMO_PASSWORD:-}" ]; then
    read -r -s -p "Password for the three demo admins (at least 12 characters): " KINDRED_DEMO_PASSWORD
    echo
fi

cli() {
    local node=$1
    shift
    compose exec -T "$node" kindred-cli --node http://127.0.0.1:7070 "$@"
}

for node in ash birch cedar; do
    echo "== $node: waiting for the node"
    for _ in $(seq 1 60); do
        if compose exec -T "$node" curl -fsS http://127.0.0.1:7070/healthz >/dev/null 2>&1; then break; fi
        sleep 2
    done
    token=$(compose logs "$node" 2>&1 | grep -o 'kdsetup_[0-9a-f]*' | tail -n 1 || true)
    if [ -z "$token" ]; then
        echo "   no set-up token in its log: it already has an admin"
        continue
    fi
    echo "== $node: creating the admin 'admin'"
    printf '%s\n' "$KINDRED_DEMO_PASSWORD" | cli "$node" setup --token "$token" --username admin --password-stdin
done

for other in birch cedar; do
    echo "== pairing ash with $other"
    printf '%s\n' "$KINDRED_DEMO_PASSWORD" | cli ash login --username admin --password-stdin >/dev/null
    invite=$(cli ash peers invite --json | sed -n 's/.*"token": *"\([^"]*\)".*/\1/p')
    printf '%s\n' "$KINDRED_DEMO_PASSWORD" | cli "$other" login --username admin --password-stdin >/dev/null
    cli "$other" peers add "$invite"
done

cli ash peers list
echo
echo "Caddy's demo certificate authority (trust it in your browser to avoid the warning):"
echo "  $(compose exec -T caddy sh -c 'echo /data/caddy/pki/authorities/local/root.crt')  in the caddy container"
echo "  copy it out with: $( command -v podman >/dev/null 2>&1 && echo podman || echo docker ) cp kindred-demo-caddy-1:/data/caddy/pki/authorities/local/root.crt ."
