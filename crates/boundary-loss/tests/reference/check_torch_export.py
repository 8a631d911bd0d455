"""Loads networks exported by `boundary-loss export` into the original's PyTorch classes and
compares their evaluation-mode logits with ours (crates/cli/tests/torch_export.rs).

    python check_torch_export.py MANIFEST.json

MANIFEST lists cases: {"description": <export's .json>, "weights": [<.safetensors>, <.pt>],
"input": <.npy>, "logits": <our logits .npy>}. For each weights file: the class named by the
description, built with its constructor arguments, takes the state_dict with
load_state_dict(strict=True) (a .pt through torch.load(weights_only=True), a .safetensors through
safetensors.torch.load_file); its logits on the input must agree with ours to 1e-5 (relative to the
largest |logit|) and give the same argmax everywhere. Prints one JSON line per file with the
largest differences; exits 1 if any fails. With --pickle-module DIR NAME, also saves the
loaded NAME network's whole module as the original saves best.pkl (torch.save(net)), for the
test that reads such a file directly.
"""
import json
import os
import sys

import numpy as np
import torch
from safetensors.torch import load_file

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "original_networks"))
import networks  # noqa: E402


def load(path):
    if path.endswith(".safetensors"):
        return load_file(path)
    return torch.load(path, weights_only=True)


def main():
    manifest = json.load(open(sys.argv[1]))
    pickle_dir, pickle_name = (sys.argv[3], sys.argv[4]) if sys.argv[2:3] == ["--pickle-module"] else (None, None)
    torch.set_num_threads(1)
    failed = False
    for case in manifest:
        info = json.load(open(case["description"]))
        x = torch.from_numpy(np.load(case["input"]))
        ours = np.load(case["logits"]).astype(np.float64)
        for weights in case["weights"]:
            net = getattr(networks, info["architecture"])(**info["constructor"])
            net.load_state_dict(load(weights), strict=True)
            net.eval()
            with torch.no_grad():
                theirs = net(x).numpy().astype(np.float64)
            if theirs.shape != ours.shape:
                print(json.dumps({"weights": weights, "shape": theirs.shape, "ours": ours.shape}))
                failed = True
                continue
            difference = np.abs(theirs - ours)
            relative = float(difference.max() / np.abs(ours).max())
            same_argmax = bool(np.array_equal(theirs.argmax(1), ours.argmax(1)))
            ok = relative <= 1e-5 and same_argmax
            print(json.dumps({"weights": os.path.basename(weights), "architecture": info["architecture"],
                              "max_abs": float(difference.max()), "max_logit": float(np.abs(ours).max()),
                              "relative": relative,
                              "elementwise": float((difference / np.maximum(1.0, np.abs(ours))).max()),
                              "same_argmax": same_argmax, "ok": ok}))
            failed |= not ok
            if info["architecture"] == pickle_name:
                torch.save(net, os.path.join(pickle_dir, "best.pkl"))
                pickle_name = None
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
