"""Prints the instructions of the Dockerfile named on the command line as JSON, read by
BuildKit's own parser (the `dockerfile` package): [{"cmd", "value": [...], "flags": [...]}],
so that the Rust tests never parse a Dockerfile by hand. `cmd` is upper case; `value` holds
the arguments (an exec-form array's items, or a shell-form command as one string)."""

import json
import sys

import dockerfile


def main():
    instructions = [
        {"cmd": i.cmd.upper(), "value": list(i.value), "flags": list(i.flags)}
        for i in dockerfile.parse_file(sys.argv[1])
    ]
    json.dump(instructions, sys.stdout)


if __name__ == "__main__":
    main()
