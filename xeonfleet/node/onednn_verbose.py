"""What oneDNN's verbose lines say ran: the ISA the library allows and the kernels it dispatched.

The frameworks' smoke tests (node_env.py) and the benchmark runners (benchlib's onednn_kernel) run torch,
TensorFlow and INC with ONEDNN_VERBOSE=1 and read their kernels back from these lines, in oneDNN's own
names, normalised by isa_names.py. Standard library only, Python 3.8+: it runs on the node.
"""

import re

if __package__:  # on the controller: the package xeonfleet.node
    from xeonfleet.node.siblings import sibling
else:  # on a node: the flat upload directory (see siblings.py)
    from siblings import sibling

isa_names = sibling("isa_names")

# oneDNN primitives that do the arithmetic (reorders and eltwise ops around them say nothing).
_COMPUTE_PRIMITIVES = ("convolution", "deconvolution", "matmul", "inner_product")


def _onednn_exec(line):
    """A oneDNN verbose exec line -> (primitive kind, implementation, src data type), else None.
    Both layouts: v3.x "onednn_verbose,v1,primitive,exec,cpu,matmul,IMPL,prop,src:bf16::..." and
    older "dnnl_verbose,exec,cpu,convolution,IMPL,prop,src_f32::...".
    """
    if not line.startswith(("onednn_verbose", "dnnl_verbose")):
        return None
    fields = line.strip().split(",")
    if "exec" not in fields or "cpu" not in fields:
        return None
    idx = fields.index("cpu")
    if len(fields) <= idx + 2:
        return None
    src = re.search(r"\bsrc[_:]([a-z0-9]+)", ",".join(fields[idx + 3:idx + 5]))
    return fields[idx + 1], fields[idx + 2], src.group(1) if src else None


def parse_onednn_verbose(lines):
    """oneDNN verbose lines -> {"max_isa": str|None, "dispatched": [isa, ...]}.

    `max_isa` is what the library says the CPU allows (the "isa:" info line); `dispatched`
    are the ISAs of the kernels that really ran ("brgemm:avx512_core_amx" ...), best first.
    """
    max_isa, dispatched = None, set()
    for line in lines:
        if line.startswith(("onednn_verbose", "dnnl_verbose")) and ",info," in line and ",isa:" in line:
            max_isa = isa_names.info_isa(line.split(",isa:", 1)[1])  # the ISA text itself may hold commas
            continue
        kernel = _onednn_exec(line)
        isa = isa_names.onednn_isa(kernel[1]) if kernel else None
        if isa:
            dispatched.add(isa)
    return {"max_isa": max_isa, "dispatched": sorted(dispatched, key=isa_names.rank, reverse=True)}


def compute_kernel(lines):
    """The best-ISA compute primitive among oneDNN verbose lines -> {"isa", "kernel", "src_type"}
    (None when no convolution/matmul/inner product ran through oneDNN)."""
    found = []
    for line in lines:
        kernel = _onednn_exec(line)
        if kernel and kernel[0] in _COMPUTE_PRIMITIVES:
            found.append({"isa": isa_names.onednn_isa(kernel[1]), "kernel": kernel[1], "src_type": kernel[2]})
    return max(found, key=lambda k: isa_names.rank(k["isa"])) if found else None

