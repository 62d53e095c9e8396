#!/usr/bin/env bash
# Model replicas for `agentgym run`: SGLang servers (data parallelism) behind SGLang's router.
#
# One machine, N GPUs: SGLang's own data parallelism (one replica per GPU, its router in front):
#   scripts/sglang_replicas.sh node MODEL_PATH PORT DP_SIZE [TP_SIZE]
#     -> python -m sglang_router.launch_server --model-path MODEL_PATH --dp-size DP_SIZE --tp-size TP_SIZE ...
#     (`agentgym serve policy --backend sglang --model MODEL_PATH --dp-size N --router` does the same)
#
# Several machines: run `node` on each GPU machine with DP_SIZE 1 (or `server`, a plain SGLang server), then
# one router in front of all of them, anywhere the runner can reach:
#   scripts/sglang_replicas.sh server MODEL_PATH PORT [TP_SIZE]
#   scripts/sglang_replicas.sh router PORT http://gpu1:30000 http://gpu2:30000 ...
#     -> python -m sglang_router.launch_router --worker-urls ... --policy cache_aware
#
# Then point the runner at the router (any executor):
#   agentgym run alfworld --agent react --policy sglang:MODEL@http://ROUTER_HOST:PORT --workers 64 \
#       --executor ray --address auto
# cache_aware routing sends requests that share a prompt prefix (the agent's few-shot examples, an
# episode's history) to the replica that holds it in its RadixAttention cache.
# Needs `pip install 'agentgym[sglang]'` (sglang, sglang-router) on GPU machines; the router alone installs
# on CPU (`pip install sglang-router`), but it only accepts SGLang workers (it probes their /health).
set -euo pipefail
HOST="${HOST:-0.0.0.0}"  # bind address; set HOST=127.0.0.1 to keep a server on this machine

usage() { sed -n '2,21p' "$0" >&2; exit 2; }

case "${1:-}" in
  node)
    [[ $# -ge 4 ]] || usage
    exec python -m sglang_router.launch_server --model-path "$2" --host "$HOST" --port "$3" \
      --dp-size "$4" --tp-size "${5:-1}"  # the router routes cache_aware by default
    ;;
  server)
    [[ $# -ge 3 ]] || usage
    exec python -m sglang.launch_server --model-path "$2" --host "$HOST" --port "$3" --tp-size "${4:-1}"
    ;;
  router)
    [[ $# -ge 3 ]] || usage
    port="$2"; shift 2
    exec python -m sglang_router.launch_router --host "$HOST" --port "$port" --worker-urls "$@" \
      --policy cache_aware
    ;;
  *) usage ;;
esac
