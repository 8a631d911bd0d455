"""The state_dict (name, shape, dtype) of each of the original's networks, as built by
`tests/pytorch_names.rs`: UNet and UNet3D with nG=4, ENet with one modality (the only count its
forward takes), the others with two; three outputs. Writes torch_names.json.

Run with a Python that has torch: python make_torch_names.py
"""
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "original_networks"))

import networks  # noqa: E402

CASES = {
    "Dimwit": dict(in_dim=2, out_dim=3),
    "Dimwit3D": dict(in_dim=2, out_dim=3),
    "UNet": dict(in_dim=2, out_dim=3, nG=4),
    "UNet3D": dict(nin=2, nout=3, nG=4),
    "ENet": dict(in_dim=1, out_dim=3),
    "ResidualUNet": dict(in_dim=2, out_dim=3),
}

out = {}
for name, arguments in CASES.items():
    net = getattr(networks, name)(**arguments)
    out[name] = {
        "constructor": arguments,
        "tensors": [[k, list(v.shape), str(v.dtype).replace("torch.", "")]
                    for k, v in net.state_dict().items()],
    }
with open(os.path.join(here, "torch_names.json"), "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
