"""One node's agent, run as its own process: ``python torch_node_agent.py FUNCTION KWARGS_JSON ELASTIC_JSON OUT``.

Writes ``{"result": ...}``, ``{"ignored": true}``, ``{"error": summary}`` or ``{"terminated": signal}`` to OUT.
"""

from __future__ import annotations

import json
import sys

import torch_examples

from flytelite.support.exceptions import IgnoreOutputs, TaskError, TerminatedError
from flytelite.torch_launcher.config import Elastic


def main(function_name: str, kwargs_json: str, elastic_json: str, out_path: str) -> int:
    fn = getattr(torch_examples, function_name)
    config = Elastic(**json.loads(elastic_json))
    exit_code = 0
    try:
        outcome = {"result": config.run_function(fn, json.loads(kwargs_json))}
    except IgnoreOutputs:
        outcome = {"ignored": True}
    except TaskError as e:
        outcome = {"error": e.summary}
    except TerminatedError as e:
        outcome, exit_code = {"terminated": e.signal_name}, 143
    with open(out_path, "w") as f:
        json.dump(outcome, f)
    return exit_code


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
