"""Prints the YAML documents of the files named on the command line as one JSON object,
{path: [document, ...]}, so that the Rust tests read the manifests and the compose file with a
real YAML parser (PyYAML, which kubernetes-validate depends on) instead of parsing YAML by
hand. Empty documents are left out; merge keys (<<: *anchor) are resolved."""

import json
import sys

import yaml


def main():
    out = {}
    for path in sys.argv[1:]:
        with open(path, encoding="utf-8") as f:
            out[path] = [doc for doc in yaml.safe_load_all(f) if doc is not None]
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
