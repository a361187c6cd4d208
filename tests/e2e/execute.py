"""`make execute INPUT=file.json`: one execution of the real state machine, on the emulator's
Step Functions (started and followed through the Step Functions API).

Uses the emulator at AWS_ENDPOINT_URL when set (e.g. one started with `make emulator` and
seeded with any AWS client), or starts its own; either way the stack is deployed into it from
infra/template.yaml (samconfig.toml's parameters, as `make deploy`), which replaces what a
previous deployment left there. Progress goes to stderr; the execution's output JSON is the
last line of stdout. A fleet request is followed through the fleet machine to its end (the
output is then the fleet's). Exit codes: 0 succeeded, 1 the execution failed (error and cause
on stderr), 2 the harness could not run."""

import argparse
import json
import os
import sys

from harness import Stack


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--input", required=True)
    p.add_argument("--max-wait-seconds", type=int, default=1,
                   help="cap every Wait state and Retry interval (default 1 s; a test-speed knob of the "
                        "emulator, not AWS behaviour); 0 = real waits")
    args = p.parse_args()
    try:
        request = open(args.input).read()
    except OSError as e:
        print(f"harness error: cannot read --input: {e}", file=sys.stderr)
        return 2
    progress = lambda line: print(line, file=sys.stderr)  # noqa: E731
    try:
        with Stack(endpoint=os.environ.get("AWS_ENDPOINT_URL"), parameters={}) as stack:
            print(f"emulator {stack.endpoint}; stack {stack.deployed.name} deployed from infra/template.yaml; "
                  f"logs in {stack.workdir}", file=sys.stderr)
            rc, output, _ = stack.execute(request, max_wait_seconds=args.max_wait_seconds or None, progress=progress)
            # A fleet request is handed to the fleet machine, which starts one upgrade execution per
            # database: the local stack stays up, and this follows the fleet run to its end.
            fleet = output.get("fleet_execution") if rc == 0 and isinstance(output, dict) else None
            if fleet:
                print(f"handed over to the fleet state machine: following {fleet} until it ends", file=sys.stderr)
                rc, output, _ = stack.follow(fleet, progress=progress, timeout=24 * 3600)
    except (RuntimeError, OSError) as e:
        print(f"harness error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(output))
    return rc


if __name__ == "__main__":
    sys.exit(main())
