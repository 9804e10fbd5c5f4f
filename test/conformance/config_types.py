"""Prints the declared field types of transformers' config classes as JSON, for the conformance check of
the project's table of upstream field types (src/core/arch/config-codec.ts).

Usage: python config_types.py
Output: {"transformers": version, "classes": {model_type: {field: annotation}},
         "aliases": {model_type: {legacy key: field}}, "properties": {model_type: [property names]}}
Annotations are written with classes by name: "int", "float | int", "list[float] | tuple[float, ...]".
"""
import dataclasses
import inspect
import json
import re
import sys

import transformers
from transformers import Mamba2Config, NemotronHConfig


def type_text(t) -> str:
    if isinstance(t, type):
        return t.__name__
    s = re.sub(r"<class '([\w.]+)'>", lambda m: m.group(1).split(".")[-1], str(t))
    return s.replace("typing.", "").replace("torch.dtype", "dtype")


def aliases(cls) -> dict:
    # __post_init__ maps legacy keys onto fields: `self.X = kwargs.pop("Y") if "Y" in kwargs else self.X`.
    src = inspect.getsource(cls.__post_init__)
    return {m.group(2): m.group(1) for m in re.finditer(r'self\.(\w+) = \(?\s*kwargs\.pop\("(\w+)"\)\s+if', src)}


out = {"transformers": transformers.__version__, "classes": {}, "aliases": {}, "properties": {}}
for cls in (NemotronHConfig, Mamba2Config):
    out["classes"][cls.model_type] = {f.name: type_text(f.type) for f in dataclasses.fields(cls)}
    out["aliases"][cls.model_type] = aliases(cls)
    out["properties"][cls.model_type] = sorted(n for n, v in inspect.getmembers(cls) if isinstance(v, property))
json.dump(out, sys.stdout, indent=1, sort_keys=True)
print()
